import ArcaAPI
import ArcaAccel
import ArcaExecutors
import ArcaTopology
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Builds the router of API v1 over `state`. Tests drive it directly; arcad serves it on the socket.
public func buildRouter(state: DaemonState) -> Router<ArcaRequestContext> { buildRoutes(state: state).router }

/// The router of API v1 and its route table.
func buildRoutes(state: DaemonState) -> Routes {
    let hummingbird = Router(context: ArcaRequestContext.self, options: .autoGenerateHeadEndpoints)
    let table = RouteTable()
    hummingbird.middlewares.add(
        APIErrorMiddleware(
            routes: table, maxBodyBytes: state.config.maxBodyBytes,
            heMaxBodyBytes: state.config.heMaxBodyBytes))
    hummingbird.middlewares.add(RoleMiddleware(policy: state.roles, audit: try? state.jobs.get().audit))
    let router = Routes(router: hummingbird, table: table)
    HERoutes.add(to: router, state: state)
    router.get("/v1/status") { _, _ in try JSONBody(state.status) }
    router.get("/v1/topology") { _, _ in try JSONBody(TopologyResponse(state.topology, plan: state.pool.plan)) }
    router.get("/v1/devices") { _, _ in
        let health = state.registry.healthByDevice
        return try JSONBody(
            DevicesResponse(
                devices: state.devices.devices.map { DevicesResponse.Device($0, health: health[$0.id]) },
                notes: state.devices.notes))
    }
    router.post("/v1/bench") { request, context in
        let bench = try await decodeBody(BenchRequest.self, request: request, limit: state.config.maxBodyBytes)
        let result = try await Bench.run(bench, state: state)
        state.audit(
            context, "bench.run",
            detail: "\(result.op) \(Bench.describe(result.parameters)), run \(result.id)")
        return try JSONBody(result)
    }
    router.get("/v1/bench/history") { _, _ in
        try JSONBody(BenchHistoryResponse(runs: Bench.History(directory: state.config.stateDirectory).runs()))
    }
    router.get("/v1/logging") { _, _ in try JSONBody(LoggingSettings(level: state.logLevel.current.rawValue)) }
    router.put("/v1/logging") { request, context in
        let settings = try await decodeBody(LoggingSettings.self, request: request, limit: state.config.maxBodyBytes)
        guard let level = Logger.Level(rawValue: settings.level) else {
            throw APIError(
                .badRequest, code: "badRequest",
                """
                level: must be one of \(LoggingSettings.levels.joined(separator: ", ")); got \
                \"\(clip(settings.level))\"
                """
            )
        }
        state.logLevel.current = level
        context.logger.notice("log level set to \(level)")
        state.audit(context, "logging.set", detail: "level \(level)")
        return try JSONBody(settings)
    }
    addJobRoutes(to: router, state: state)
    return router
}

/// Builds arcad's application on `socket`: API v1 over HTTP/1.1 on a Unix socket.
public func buildApplication(state: DaemonState, socket: ManagementSocket, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(state: state),
        server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(state.config.idleTimeout.milliseconds)))),
        configuration: .init(address: .unixDomainSocket(path: socket.bindPath), serverName: "arcad"),
        onServerRunning: { _ in
            // The socket's group is the view group: as root, given here; as another user (the
            // image's arca with Group=arca-view), the process's own group already is.
            let gid = state.roles.viewGid.flatMap { $0 == getegid() ? nil : $0 }
            do {
                if let warning = try socket.publish(group: gid) {
                    logger.warning("\(warning); members of \(state.roles.viewGroup) cannot connect")
                }
                logger.notice("arcad serving API v\(API.version) on \(socket.path)")
            } catch {
                // Nobody can reach a socket that was never put in place: a start that cannot serve.
                logger.critical("\(error)")
                socket.abandon()
                exit(1)
            }
        },
        logger: logger)
}

/// A JSON response body encoded with the API's encoder (sorted keys, explicit nulls).
struct JSONBody<Value: Encodable>: ResponseGenerator {
    let data: Data
    let status: HTTPResponse.Status
    init(_ value: Value, status: HTTPResponse.Status = .ok) throws {
        data = try API.encoder().encode(value)
        self.status = status
    }
    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Collects at most `limit` bytes of the body and decodes it as JSON.
/// - Throws: ``APIError`` 413 over the limit, 400 for a body that is not the expected JSON (with the
///   decoder's path to the bad field).
func decodeBody<T: Decodable>(_ type: T.Type, request: Request, limit: Int) async throws -> T {
    var request = request
    let buffer = try await request.collectBody(upTo: limit)
    guard buffer.readableBytes > 0 else {
        throw APIError(.badRequest, code: "badRequest", "the request needs a JSON body")
    }
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
    } catch let error as DecodingError {
        throw APIError(.badRequest, code: "badRequest", "malformed JSON body: \(describe(error))")
    }
}

/// `text` cut to 120 characters, so an error never echoes a huge input back.
func clip(_ text: String) -> String { text.count > 120 ? text.prefix(120) + "… (\(text.utf8.count) bytes)" : text }

func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map(\.stringValue).joined(separator: ".")
        return keys.isEmpty ? "" : " at \(keys)"
    }
    switch error {
    case .dataCorrupted(let context):
        return
            """
            not valid JSON\(path(context)): \
            \((context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription)
            """
    case .keyNotFound(let key, let context):
        return "missing key \"\(key.stringValue)\"\(path(context))"
    case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
        if context.codingPath.isEmpty { return "expected a JSON object" }
        return "expected \(type == String.self ? "a string" : "\(type)")\(path(context))"
    @unknown default:
        return "\(error)"
    }
}

/// An API failure with its HTTP status and stable error code.
struct APIError: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// The methods a 405 answer names in its `Allow` header.
    var allow: [HTTPRequest.Method] = []
    init(_ status: HTTPResponse.Status, code: String, _ message: String, allow: [HTTPRequest.Method] = []) {
        self.status = status; self.code = code; self.message = message; self.allow = allow
    }
}

/// Turns every failure into `{"error": {"code", "message"}}` with the right status, adds the API
/// version header, answers 405 for a known path with the wrong method and 413 early for a declared
/// body over the limit. No error escapes to close the connection without an answer.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable
    let maxBodyBytes: Int
    /// The larger limit of the `/v1/he/` routes, which carry arrays of ciphertexts.
    var heMaxBodyBytes = 0

    func limit(_ path: String) -> Int { path.hasPrefix("/v1/he/") ? max(maxBodyBytes, heMaxBodyBytes) : maxBodyBytes }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit(request.uri.path) {
                throw APIError(
                    .contentTooLarge, code: "payloadTooLarge",
                    "request body of \(length) bytes is over the limit of \(limit(request.uri.path)) bytes")
            }
            response = try await next(request, context)
        } catch let error as APIError {
            response = Self.errorResponse(error)
        } catch let error as ExecutorError {  // placement refused the work, no executor, or a full queue under "reject"
            response = Self.errorResponse(APIError(.serviceUnavailable, code: "unavailable", error.description))
        } catch let error as HTTPError {
            response = Self.errorResponse(translate(error.status, body: error.body, request: request))
        } catch let error as any HTTPResponseError {  // e.g. NIOTooManyBytesError from a chunked body over the limit
            response = Self.errorResponse(translate(error.status, body: nil, request: request))
        } catch {
            context.logger.error("request \(request.method) \(request.uri.path) failed: \(error)")
            response = Self.errorResponse(APIError(.internalServerError, code: "internal", "internal error: \(error)"))
        }
        response.headers[HTTPField.Name(API.versionHeader)!] = String(API.version)
        return response
    }

    func translate(_ status: HTTPResponse.Status, body: String?, request: Request) -> APIError {
        switch status {
        case .notFound:
            if let methods = routes.allowed(request.uri.path) {
                let names = methods.map(\.rawValue).joined(separator: ", ")
                return APIError(
                    .methodNotAllowed, code: "methodNotAllowed",
                    "\(request.method) is not allowed on \(request.uri.path); use \(names)", allow: methods)
            }
            let known = routes.paths.keys.sorted().joined(separator: ", ")
            return APIError(
                .notFound, code: "notFound",
                "no route \(request.method) \(clip(request.uri.path)); API v\(API.version) routes: \(known)")
        case .contentTooLarge:
            return APIError(
                .contentTooLarge, code: "payloadTooLarge",
                "request body is over the limit of \(limit(request.uri.path)) bytes")
        case .badRequest:
            return APIError(.badRequest, code: "badRequest", body ?? "bad request")
        default:
            return APIError(status, code: "httpError", body ?? status.reasonPhrase)
        }
    }

    static func errorResponse(_ error: APIError) -> Response {
        let data = (try? API.encoder().encode(ErrorResponse(code: error.code, message: error.message))) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if !error.allow.isEmpty {
            headers[.allow] = error.allow.map(\.rawValue).joined(separator: ", ")
        }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

// MARK: - Model to wire

extension DevicesResponse.Device {
    init(_ device: DeviceDescriptor, health: DeviceRegistry.Health?) {
        self.init(
            id: device.id, backend: device.backend.rawValue, type: device.type.rawValue, name: device.name,
            vendor: device.vendor, driverVersion: device.driverVersion, computeUnits: device.computeUnits,
            globalMemoryBytes: device.globalMemoryBytes, localMemoryBytes: device.localMemoryBytes,
            maxWorkGroupSize: device.maxWorkGroupSize, numaNode: device.numaNode, platform: device.platform,
            openclCVersion: device.openCLCVersion, pciBusId: device.pciBusId,
            health: .init(
                status: (health?.status ?? .ok).rawValue,
                since: health?.since.map { ISO8601DateFormatter().string(from: $0) },
                reason: health?.reason, fallbacks: health?.fallbacks ?? [:],
                nttThreshold: health?.thresholds["ntt"] ?? nil, modexpThreshold: health?.thresholds["modexp"] ?? nil))
    }
}
