import ArcaAPI
import ArcaAccel
import ArcaMath
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ArcaServer

/// The API through the application builder, every answer checked against the OpenAPI document.
@Suite("API v1 routes")
struct RouterTests {
    static func config() -> ArcadConfig {
        var config = ArcadConfig.defaults
        config.stateDirectory = NSTemporaryDirectory() + "arca-router-state-" + UUID().uuidString
        return config
    }
    static let sharedState = Task {
        await DaemonState.discover(
            config: config(), socketPath: "/tmp/router-test.sock", logLevel: LogLevelSwitch(.info))
    }
    let document: OpenAPIDocument

    init() throws { document = try OpenAPIDocument() }

    /// Sends a request to the router, checks the version header and the body against the document's
    /// schema for `documentedAs` (method, path) and the answer's status, and returns the JSON.
    func request(
        _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, headers: HTTPFields = [:],
        documentedAs: (String, String)? = nil
    ) async throws -> (status: Int, json: [String: Any], headers: HTTPFields) {
        let app = Application(router: buildRouter(state: await Self.sharedState.value))
        let response = try await app.test(.router) { client in
            try await client.execute(
                uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        }
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
        #expect(response.headers[HTTPField.Name(API.versionHeader)!] == "1")
        #expect(response.headers[.contentType] == "application/json")
        let (docMethod, docPath) = documentedAs ?? (method.rawValue, uri)
        let schema = try document.responseSchema(docMethod, docPath, status: response.status.code)
        let problems = try document.violations(json, schema)
        let answer = "\(method) \(uri) → \(response.status.code)"
        #expect(problems.isEmpty, "\(answer) breaks the OpenAPI document: \(problems)")
        return (response.status.code, json, response.headers)
    }

    @Test func documentIsValidOpenAPI() throws {
        let document = try OpenAPIDocument.validateWithOpenAPIKit()
        #expect(document.paths.count == 27)
    }

    @Test func status() async throws {
        let (code, json, _) = try await request(.get, "/v1/status")
        #expect(code == 200)
        #expect(json["apiVersion"] as? Int == 1)
        #expect(json["pid"] as? Int == Int(ProcessInfo.processInfo.processIdentifier))
        #expect(json["configSource"] as? String == "embedded defaults")
    }

    @Test func topology() async throws {
        let (code, json, _) = try await request(.get, "/v1/topology")
        #expect(code == 200)
        let nodes = try #require(json["numaNodes"] as? [[String: Any]])
        #expect(nodes.contains { $0["osIndex"] as? Int == 0 })
    }

    @Test func devicesAlwaysListTheCPUFallback() async throws {
        let (code, json, _) = try await request(.get, "/v1/devices")
        #expect(code == 200)
        let devices = try #require(json["devices"] as? [[String: Any]])
        let cpu = try #require(devices.first { $0["id"] as? String == "cpu" })
        #expect(cpu["backend"] as? String == "cpu")
        #expect(cpu["platform"] is NSNull, "unknown values are null, not left out")
        let opencl = try #require(devices.first { $0["backend"] as? String == "opencl" })
        #expect((opencl["health"] as? [String: Any])?["status"] as? String == "ok", "PoCL passes its self-test")
    }

    @Test func loggingLevelCanBeReadAndSet() async throws {
        let state = await DaemonState.discover(
            config: Self.config(), socketPath: "/tmp/router-test-2.sock", logLevel: LogLevelSwitch(.info))
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let set = try await client.execute(
                uri: "/v1/logging", method: .put, body: ByteBuffer(string: #"{"level":"debug"}"#))
            #expect(set.status == .ok)
            #expect(state.logLevel.current == .debug)
            let get = try await client.execute(uri: "/v1/logging", method: .get)
            #expect(String(buffer: get.body).contains(#""level":"debug""#))
        }
        _ = try await request(.get, "/v1/logging")
    }

    @Test func benchNTTAndModexpSideBySide() async throws {
        let (code, json, _) = try await request(
            .post, "/v1/bench", body: #"{"op":"ntt","degree":1024,"limbs":1,"batch":2,"repetitions":1}"#)
        #expect(code == 200)
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.last?["device"] as? String == "cpu")
        #expect(results.contains { $0["backend"] as? String == "opencl" }, "PoCL is measured beside the CPU")
        // The work-group size each device's kernels ran with (tuned at first use and kept).
        let groups = (json["environment"] as? [String: String])?["workGroupSizes"] ?? ""
        #expect(groups.hasPrefix("ocl-") && groups.contains("ntt "), "\(groups)")
        let (code2, json2, _) = try await request(
            .post, "/v1/bench", body: #"{"op":"modexp","modulusBits":1024,"exponentBits":64,"batch":2,"repetitions":1}"#
        )
        #expect(code2 == 200)
        #expect((json2["openSSLSingleThreadPerSecond"] as? Double ?? 0) > 0)
        #expect(json2["saved"] as? Bool == true)
        let (code3, history, _) = try await request(.get, "/v1/bench/history")
        #expect(code3 == 200)
        let ids = (history["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids.contains(json["id"] as? String ?? "-") && ids.contains(json2["id"] as? String ?? "-"))
    }

    @Test func aSecondBenchWhileOneRunsIsRefusedWith409() async throws {
        let state = await DaemonState.discover(
            config: Self.config(), socketPath: "/tmp/router-test-6.sock", logLevel: LogLevelSwitch(.info))
        state.benchRunning.withLock { $0 = true }  // as while another client's bench runs
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let bench = try await client.execute(
                uri: "/v1/bench", method: .post, body: ByteBuffer(string: #"{"op":"ntt","degree":1024}"#))
            #expect(bench.status == .conflict)
            #expect(String(buffer: bench.body).contains("another bench is running"))
            let bad = try await client.execute(
                uri: "/v1/bench", method: .post, body: ByteBuffer(string: #"{"op":"ntt","degree":1000}"#))
            #expect(bad.status == .badRequest, "a bad request is refused as such even while a bench runs")
        }
    }

    @Test func tinyRejectingQueueStillServesALoneBatchAndSelfTests() async throws {
        var config = Self.config()
        config.queueCapacity = 1
        config.whenFull = .reject
        let state = await DaemonState.discover(
            config: config, socketPath: "/tmp/router-test-5.sock", logLevel: LogLevelSwitch(.info))
        #expect(
            state.registry.healthByDevice.values.allSatisfy { $0.status == .ok },
            "a queue-full is not a self-test failure")
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let bench = try await client.execute(
                uri: "/v1/bench", method: .post,
                body: ByteBuffer(
                    string: #"{"op":"modexp","modulusBits":1024,"exponentBits":64,"batch":4,"repetitions":1,"#
                        + #""device":"cpu"}"#
                ))
            #expect(bench.status == .ok, "\(String(buffer: bench.body))")
        }
    }

    @Test func workWithNoExecutorIsRefusedWith503() async throws {
        var config = Self.config()
        config.placement.excludedNodes = [0]  // this machine's only node
        let state = await DaemonState.discover(
            config: config, socketPath: "/tmp/router-test-4.sock", logLevel: LogLevelSwitch(.info))
        #expect(state.pool.executors.isEmpty)
        #expect(state.registry.healthByDevice.values.allSatisfy { $0.status == .ok }, "the device itself is fine")
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let bench = try await client.execute(
                uri: "/v1/bench", method: .post,
                body: ByteBuffer(
                    string: #"{"op":"ntt","degree":1024,"batch":1,"limbs":1,"repetitions":1,"device":"cpu"}"#))
            #expect(bench.status == .serviceUnavailable)
            #expect(String(buffer: bench.body).contains("no usable NUMA node"))
            let status = try await client.execute(uri: "/v1/status", method: .get)
            #expect(String(buffer: status.body).contains("no NUMA executor"))
        }
    }

    @Test func quarantinedDeviceMakesStatusDegradedWhileRunning() async throws {
        let state = await DaemonState.discover(
            config: Self.config(), socketPath: "/tmp/router-test-3.sock", logLevel: LogLevelSwitch(.info))
        let (id, health) = try #require(state.registry.healthByDevice.first, "no OpenCL device")
        #expect(health.status == .ok)
        let device = try #require(state.registry.device(id) as? OpenCLComputeDevice)
        device.loader = ProgramLoader(sourceDirectory: "/nonexistent-kernels")  // every new program fails to load
        for degree in [1024, 2048, 8192] {
            let plans = [NTTPlan(degree: degree, modulus: Modulus.nttPrimes(bits: 50, degree: degree, count: 1)[0])]
            var values = [UInt64](repeating: 1, count: degree)
            _ = try await state.registry.ntt(&values, plans: plans, inverse: false, preferred: id)
        }
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let status = try await client.execute(uri: "/v1/status", method: .get)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(status.body.readableBytesView)) as? [String: Any])
            let health = try #require(json["health"] as? [String: Any])
            #expect(health["status"] as? String == "degraded")
            #expect((health["messages"] as? [String])?.contains { $0.contains("\(id) quarantined since") } == true)
            let devices = try await client.execute(uri: "/v1/devices", method: .get)
            #expect(String(buffer: devices.body).contains(#""status":"quarantined""#))
        }
    }

    @Test(arguments: [
        #"{"op":"fft"}"#, #"{"op":"ntt","degree":1000}"#, #"{"op":"modexp","modulusBits":100}"#,
        #"{"op":"ntt","device":"nope"}"#,
    ])
    func badBenchRequestsAre400(_ body: String) async throws {
        let (code, _, _) = try await request(.post, "/v1/bench", body: body)
        #expect(code == 400)
    }

    @Test(arguments: ["/v1/nope", "/", "/v2/status", "/v1/status/extra"])
    func unknownRouteIs404(_ uri: String) async throws {
        let (code, json, _) = try await request(.get, uri, documentedAs: ("GET", "/v1/status"))
        #expect(code == 404)
        #expect((json["error"] as? [String: Any])?["code"] as? String == "notFound")
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        let (code, json, headers) = try await request(.delete, "/v1/devices", documentedAs: ("GET", "/v1/devices"))
        #expect(code == 405)
        #expect(headers[.allow] == "GET, HEAD")
        #expect((json["error"] as? [String: Any])?["code"] as? String == "methodNotAllowed")
    }

    /// The route table is the router's own: a path with a parameter that an earlier hand-kept list
    /// left out (`/v1/he/keys/{key}`) answers 405 with `Allow`, not 404.
    @Test(arguments: [
        ("/v1/he/keys/bank", "/v1/he/keys/{key}", "GET, HEAD"), ("/v1/jobs/1/cancel", "/v1/jobs/{id}/cancel", "POST"),
    ])
    func wrongMethodOnAParameterPathIs405(_ uri: String, _ documented: String, _ allow: String) async throws {
        let method: HTTPRequest.Method = allow == "POST" ? .get : .delete
        let (code, json, headers) = try await request(
            method, uri, documentedAs: (allow == "POST" ? "POST" : "GET", documented))
        #expect(code == 405)
        #expect(headers[.allow] == allow)
        #expect((json["error"] as? [String: Any])?["code"] as? String == "methodNotAllowed")
    }

    /// The OpenAPI document and the route table name the same paths.
    @Test func everyDocumentedPathIsARoute() async throws {
        let documented = Set(try #require(document.raw["paths"] as? [String: Any]).keys)
        let routed = Set(buildRoutes(state: await Self.sharedState.value).table.paths.keys)
        #expect(
            documented == routed,
            "documented only: \(documented.subtracting(routed)); routed only: \(routed.subtracting(documented))")
    }

    @Test(arguments: ["{bad", "", "[]", #"{"level": 3}"#, #"{"lvl":"info"}"#, #"{"level":"loud"}"#])
    func malformedBodyIs400(_ body: String) async throws {
        let (code, json, _) = try await request(.put, "/v1/logging", body: body)
        #expect(code == 400)
        let message = try #require((json["error"] as? [String: Any])?["message"] as? String)
        #expect(!message.isEmpty)
        #expect(await Self.sharedState.value.logLevel.current == .info, "a refused change changes nothing")
    }

    @Test func oversizedBodyIs413() async throws {
        let big = #"{"level":""# + String(repeating: "x", count: ArcadConfig.defaults.maxBodyBytes + 1) + #""}"#
        let (code, json, _) = try await request(.put, "/v1/logging", body: big)
        #expect(code == 413)
        #expect((json["error"] as? [String: Any])?["code"] as? String == "payloadTooLarge")
    }
}
