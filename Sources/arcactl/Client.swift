import ArcaAPI
import ArcaSystem
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1

/// Options every command shares: where the daemon is, how long to wait, how to print.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            arcad's socket (default: $ARCA_SOCKET, else /run/arca/arcad.sock for root, \
            $XDG_RUNTIME_DIR/arca/arcad.sock otherwise).
            """,
            valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the daemon's answer.", valueName: "seconds"))
    var timeout: Double = 10

    @Flag(name: .long, help: "Print the API's JSON exactly, for scripts.")
    var json = false

    func validate() throws {
        guard timeout >= 0.1, timeout <= 3600 else {
            throw ValidationError("--timeout must be from 0.1 to 3600 seconds")
        }
    }

    var socketPath: String { API.socketPath(flag: socket, environment: ProcessInfo.processInfo.environment) }
}

/// Why a call failed, each with its documented exit code.
enum Failure: Error, CustomStringConvertible {
    case daemonError(status: Int, code: String, message: String)
    case notRunning(String)
    case permissionDenied(String)
    case versionMismatch(String)
    case timedOut(String)
    case protocolError(String)
    case badInput(String)

    var exitCode: Int32 {
        switch self {
        case .daemonError: return 1
        case .notRunning: return 3
        case .permissionDenied: return 4
        case .versionMismatch: return 5
        case .timedOut: return 6
        case .protocolError: return 7
        case .badInput: return 8
        }
    }

    var description: String {
        switch self {
        case .daemonError(let status, let code, let message): return "arcad answered \(status) \(code): \(message)"
        case .notRunning(let s), .permissionDenied(let s), .versionMismatch(let s), .timedOut(let s),
            .protocolError(let s), .badInput(let s):
            return s
        }
    }

    static let exitCodeHelp = """
        Exit codes: 0 success; 1 arcad answered with an error; 3 arcad is not running on the socket; \
        4 permission denied on the socket; 5 arcad speaks another API version; 6 no answer within \
        --timeout; 7 the answer could not be read; 8 an input (a topology file, a bench run id) cannot \
        be used; 64 bad command line.
        """
}

/// A client of API v1 on arcad's Unix socket (AsyncHTTPClient over `http+unix`).
struct APIClient {
    let options: ConnectionOptions

    /// Sends one request and returns the body of a 2xx answer, all of it within `--timeout`:
    /// connecting, the answer's head and its body.
    func call(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> Data {
        let timeout = options.timeout, socket = options.socketPath
        return try await withThrowingTaskGroup(of: Data.self) { group in
            group.addTask { try await self.exchange(method, path, body: body) }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                throw Failure.timedOut("arcad on \(socket) did not answer within \(timeout) s")
            }
            let data = try await group.next()!
            group.cancelAll()
            return data
        }
    }

    func exchange(_ method: HTTPMethod, _ path: String, body: Data?) async throws -> Data {
        let socket = options.socketPath
        try probe(socket)
        let encoded = socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socket
        var request = HTTPClientRequest(url: "http+unix://\(encoded)\(path)")
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let deadline = NIODeadline.now() + .milliseconds(Int64(options.timeout * 1000))
        let response: HTTPClientResponse
        let data: Data
        // A client of our own: the shared one stops reading after its default read timeout (90 s),
        // shorter than a long batch's --timeout.
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(options.timeout * 1000)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let outcome: Result<(HTTPClientResponse, Data), any Error>
        do {
            let answer = try await client.execute(request, deadline: deadline)
            let buffer = try await answer.body.collect(upTo: 1 << 30)
            outcome = .success((answer, Data(buffer.readableBytesView)))
        } catch {
            outcome = .failure(error)
        }
        try? await client.shutdown()
        do {
            (response, data) = try outcome.get()
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw Failure.timedOut("arcad on \(socket) did not answer within \(options.timeout) s")
        } catch {
            throw Failure.protocolError("request to arcad on \(socket) failed: \(error)")
        }
        let version = response.headers.first(name: API.versionHeader)
        if version == nil && response.status == .badRequest {
            throw Failure.protocolError("arcad on \(socket) refused the request as malformed HTTP (400)")
        }
        guard version == String(API.version) else {
            throw Failure.versionMismatch(
                "the server on \(socket) speaks API version \(version ?? "unknown"); this arcactl speaks \(API.version)"
            )
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            if let failure = try? JSONDecoder().decode(ErrorResponse.self, from: data) {
                throw Failure.daemonError(
                    status: Int(response.status.code), code: failure.error.code, message: failure.error.message)
            }
            throw Failure.daemonError(
                status: Int(response.status.code), code: "unknown", message: String(decoding: data, as: UTF8.self))
        }
        return data
    }

    /// Connects once by hand to tell "not running" and "permission denied" apart from other
    /// failures at once, before the HTTP client would retry until its deadline.
    func probe(_ path: String) throws {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // A listener whose backlog is full would block connect() without end: bound it.
        var limit = timeval(
            tv_sec: Int(options.timeout), tv_usec: Int((options.timeout - options.timeout.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var info = stat()
        if stat(path, &info) == 0 && info.st_mode & S_IFMT != S_IFSOCK {
            throw Failure.notRunning("\(path) is not a socket, so arcad is not serving there")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure.notRunning("socket path \(path) is too long for a Unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard status != 0 else { return }
        let reason = "\(Errno.current)"
        switch errno {
        case ENOENT, ECONNREFUSED, ENOTDIR:
            throw Failure.notRunning("arcad is not running on \(path) (\(reason))")
        case EAGAIN, EINPROGRESS:
            throw Failure.timedOut("arcad on \(path) did not accept the connection within \(options.timeout) s")
        case EACCES, EPERM:
            throw Failure.permissionDenied(
                "permission denied on \(path): ask to be added to the socket's group (arca-view), or use sudo")
        default:
            throw Failure.notRunning("cannot connect to arcad on \(path): \(reason)")
        }
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> (T, Data) {
        let data = try await call(.GET, path)
        do {
            return (try JSONDecoder().decode(T.self, from: data), data)
        } catch {
            throw Failure.protocolError("cannot read arcad's answer to GET \(path): \(error)")
        }
    }
}

/// Runs `body`, printing a failure in one line on standard error and exiting with its code.
func runReporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as Failure {
        FileHandle.standardError.write(Data("arcactl: \(failure)\n".utf8))
        throw ExitCode(failure.exitCode)
    }
}

/// Prints raw API JSON (exactly what arcad sent) followed by a newline. A reader that went away
/// (`arcactl … --json | head`) ends arcactl quietly, as SIGPIPE would.
func printJSON(_ data: Data) {
    do {
        try FileHandle.standardOutput.write(contentsOf: data + Data("\n".utf8))
    } catch {
        exit(0)
    }
}

/// A plain text table: a header row, then rows, columns padded to their widest cell.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

/// `0-3,8,10-11` for a sorted index list.
func ranges(_ indexes: [Int]) -> String {
    guard !indexes.isEmpty else { return "-" }
    var parts: [String] = []
    var start = indexes[0], previous = indexes[0]
    for index in indexes.dropFirst() + [Int.min] {
        if index == previous + 1 { previous = index; continue }
        parts.append(start == previous ? "\(start)" : "\(start)-\(previous)")
        start = index; previous = index
    }
    return parts.joined(separator: ",")
}

/// Bytes in binary units: `64.0 GiB`.
func bytes(_ value: UInt64?) -> String {
    guard let value else { return "unknown" }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var amount = Double(value), unit = 0
    while amount >= 1024, unit < units.count - 1 { amount /= 1024; unit += 1 }
    return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
}
