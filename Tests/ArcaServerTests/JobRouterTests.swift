import ArcaAPI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ArcaServer

/// Jobs, datasets, grants, usage and audit through the router, every answer checked against the
/// OpenAPI document. In process there are no socket credentials: the router runs as arcad's own user.
@Suite("API v1 job routes", .serialized)
struct JobRouterTests {
    static let guest = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ArcaEndToEndTests/Data/breast_hetero_guest.csv").path
    let document: OpenAPIDocument
    init() throws { document = try OpenAPIDocument() }

    func request(
        _ state: DaemonState, _ method: HTTPRequest.Method, _ uri: String, body: String? = nil,
        documentedAs path: String? = nil
    ) async throws -> (status: Int, json: [String: Any]) {
        let app = Application(router: buildRouter(state: state))
        let response = try await app.test(.router) { client in
            try await client.execute(uri: uri, method: method, body: body.map { ByteBuffer(string: $0) })
        }
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
        let schema = try document.responseSchema(
            method.rawValue, path ?? String(uri.split(separator: "?")[0]), status: response.status.code)
        let problems = try document.violations(json, schema)
        let answer = "\(method) \(uri) → \(response.status.code)"
        #expect(problems.isEmpty, "\(answer) breaks the OpenAPI document: \(problems)")
        return (response.status.code, json)
    }

    @Test func everyJobRouteAnswersAsDocumented() async throws {
        var config = ArcadConfig.defaults
        config.stateDirectory = NSTemporaryDirectory() + "arca-job-router-" + UUID().uuidString
        config.openCLEnabled = false
        // The test data are links into the repository's data/: that is where they resolve.
        config.datasetRoots = [ConfigTests.repository.appendingPathComponent("data").path]
        defer { try? FileManager.default.removeItem(atPath: config.stateDirectory) }
        let state = await DaemonState.discover(
            config: config, socketPath: "/tmp/job-router-test.sock", logLevel: LogLevelSwitch(.info))

        var (code, json) = try await request(
            state, .post, "/v1/datasets",
            body: #"{"name":"guest","path":"\#(Self.guest)","idColumn":"id","labelColumn":"y"}"#)
        #expect(code == 201 && json["rows"] as? Int == 569)
        (code, json) = try await request(
            state, .post, "/v1/datasets", body: #"{"name":"guest","path":"\#(Self.guest)","idColumn":"id"}"#)
        #expect(code == 409)
        (code, json) = try await request(
            state, .post, "/v1/datasets", body: #"{"name":"other","path":"\#(Self.guest)","idColumn":"nope"}"#)
        #expect(code == 400 && (json["error"] as? [String: Any])?["code"] as? String == "badDataset")
        (code, _) = try await request(state, .get, "/v1/datasets")
        #expect(code == 200)
        (code, _) = try await request(state, .get, "/v1/datasets/guest", documentedAs: "/v1/datasets/{name}")
        #expect(code == 200)
        (code, _) = try await request(state, .get, "/v1/datasets/nope", documentedAs: "/v1/datasets/{name}")
        #expect(code == 404)

        (code, json) = try await request(
            state, .post, "/v1/grants",
            body: #"{"dataset":"guest","partner":"local","purpose":"stats","maxRows":100000,"per":"day","#
                + #""expiresAt":"2999-01-01"}"#
        )
        #expect(code == 201 && json["active"] as? Bool == true)
        (code, _) = try await request(
            state, .post, "/v1/grants", body: #"{"dataset":"nope","partner":"local","purpose":"stats"}"#)
        #expect(code == 404)
        (code, _) = try await request(
            state, .post, "/v1/grants",
            body: #"{"dataset":"guest","partner":"local","purpose":"stats","expiresAt":"soon"}"#)
        #expect(code == 400)
        (code, _) = try await request(state, .get, "/v1/grants?dataset=guest")
        #expect(code == 200)
        (code, json) = try await request(
            state, .post, "/v1/grants", body: #"{"dataset":"guest","partner":"other","purpose":"psi"}"#)
        let revocable = try #require(json["id"] as? Int)
        (code, json) = try await request(
            state, .post, "/v1/grants/\(revocable)/revoke", documentedAs: "/v1/grants/{id}/revoke")
        #expect(code == 200 && json["active"] as? Bool == false && json["revokedBy"] is String)
        (code, _) = try await request(
            state, .post, "/v1/grants/\(revocable)/revoke", documentedAs: "/v1/grants/{id}/revoke")
        #expect(code == 409)
        (code, _) = try await request(state, .post, "/v1/grants/999/revoke", documentedAs: "/v1/grants/{id}/revoke")
        #expect(code == 404)

        let spec = "kind = \\\"dataset-stats\\\"\\ndataset = \\\"guest\\\"\\npurpose = \\\"stats\\\"\\n"
        (code, json) = try await request(state, .post, "/v1/jobs", body: #"{"spec":"\#(spec)"}"#)
        #expect(code == 201 && json["state"] as? String == "queued")
        let id = try #require(json["id"] as? Int)
        (code, json) = try await request(state, .post, "/v1/jobs", body: #"{"spec":"kind = 1"}"#)
        #expect(code == 400 && (json["error"] as? [String: Any])?["code"] as? String == "badSpec")
        (code, json) = try await request(
            state, .post, "/v1/jobs",
            body: #"{"spec":"\#(spec.replacingOccurrences(of: "purpose = \\\"stats", with: "purpose = \\\"psi"))"}"#)
        #expect(code == 403 && (json["error"] as? [String: Any])?["code"] as? String == "refused")

        for _ in 0..<600 {
            (code, json) = try await request(state, .get, "/v1/jobs/\(id)", documentedAs: "/v1/jobs/{id}")
            if json["state"] as? String == "succeeded" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(json["state"] as? String == "succeeded")
        (code, _) = try await request(state, .get, "/v1/jobs/\(id)/result", documentedAs: "/v1/jobs/{id}/result")
        #expect(code == 200)
        (code, _) = try await request(state, .post, "/v1/jobs/\(id)/cancel", documentedAs: "/v1/jobs/{id}/cancel")
        #expect(code == 409)
        (code, _) = try await request(state, .get, "/v1/jobs/999", documentedAs: "/v1/jobs/{id}")
        #expect(code == 404)
        (code, _) = try await request(state, .get, "/v1/jobs/x", documentedAs: "/v1/jobs/{id}")
        #expect(code == 400)
        (code, _) = try await request(state, .get, "/v1/jobs")
        #expect(code == 200)
        (code, json) = try await request(state, .get, "/v1/usage?dataset=guest&since=2000-01-01")
        #expect(code == 200 && !(json["records"] as? [Any] ?? []).isEmpty)
        (code, _) = try await request(state, .get, "/v1/usage?since=yesterday")
        #expect(code == 400)
        // No [party] in the configuration: no link, said so, no peers.
        (code, json) = try await request(state, .get, "/v1/peers")
        #expect(code == 200 && (json["peers"] as? [Any])?.isEmpty == true && json["problem"] is String)
        (code, json) = try await request(state, .get, "/v1/audit?job=\(id)")
        #expect(code == 200 && (json["entries"] as? [String] ?? []).count >= 3)
        (code, json) = try await request(state, .get, "/v1/audit/verify")
        #expect(code == 200 && json["ok"] as? Bool == true)
        (code, _) = try await request(state, .get, "/v1/audit/export")
        #expect(code == 200)

        // A known path with another method: 405 with Allow, parameters included.
        let app = Application(router: buildRouter(state: state))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete)
            #expect(response.status == .methodNotAllowed && response.headers[.allow] == "GET, HEAD")
            let revoke = try await client.execute(uri: "/v1/grants/1/revoke", method: .get)
            #expect(revoke.status == .methodNotAllowed && revoke.headers[.allow] == "POST")
            let unknown = try await client.execute(uri: "/v1/jobs/\(id)/nope", method: .get)
            #expect(unknown.status == .notFound)
        }
    }
}
