import HTTPTypes
import Hummingbird
import Synchronization

/// The management API's route table. Every route is registered through it: it adds the route to
/// the Hummingbird router and records the method under the path (written `/v1/jobs/{id}`, as the
/// OpenAPI document writes it), so that the table the error middleware answers 405 from (with
/// `Allow`) is the router's own, never a second list.
final class RouteTable: Sendable {
    private let methods = Mutex<[String: [HTTPRequest.Method]]>([:])

    /// Every path and its methods (a GET route brings HEAD with it).
    var paths: [String: [HTTPRequest.Method]] { methods.withLock { $0 } }

    func record(_ method: HTTPRequest.Method, _ path: String) {
        let documented = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }.joined(separator: "/")
        methods.withLock { table in
            let added: [HTTPRequest.Method] = method == .get ? [.get, .head] : [method]
            for method in added where !(table[documented] ?? []).contains(method) {
                table[documented, default: []].append(method)
            }
        }
    }

    /// The methods of the route whose path matches `path` (a `{name}` segment matches any one
    /// segment), or nil when no route has that path.
    func allowed(_ path: String) -> [HTTPRequest.Method]? {
        let table = paths
        if let methods = table[path] { return methods }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return table.first { pattern, _ in
            let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == segments.count && zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }?.value
    }
}

/// The router and its table together: what each resource's `add(to:)` registers its routes on.
struct Routes {
    let router: Router<ArcaRequestContext>
    let table: RouteTable

    typealias Handler<Output> = @Sendable (Request, ArcaRequestContext) async throws -> Output

    func get<Output: ResponseGenerator>(_ path: String, use handler: @escaping Handler<Output>) {
        table.record(.get, path)
        router.get(RouterPath(path), use: handler)
    }

    func post<Output: ResponseGenerator>(_ path: String, use handler: @escaping Handler<Output>) {
        table.record(.post, path)
        router.post(RouterPath(path), use: handler)
    }

    func put<Output: ResponseGenerator>(_ path: String, use handler: @escaping Handler<Output>) {
        table.record(.put, path)
        router.put(RouterPath(path), use: handler)
    }
}
