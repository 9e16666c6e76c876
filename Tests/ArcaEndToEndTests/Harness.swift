import ArcaAPI
import Foundation
import Testing

/// Runs the real `arcad` and `arcactl` binaries that `swift build` put beside the test bundle
/// (or in `$ARCA_BIN_DIR`), each daemon on its own temporary socket.
enum Harness {
    static let binDirectory: URL = {
        if let directory = ProcessInfo.processInfo.environment["ARCA_BIN_DIR"] {
            return URL(fileURLWithPath: directory)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("arcad").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory
    }()

    static func executable(_ name: String) throws -> URL {
        let url = binDirectory.appendingPathComponent(name)
        try #require(
            FileManager.default.isExecutableFile(atPath: url.path), "\(url.path) is not built: run `swift build` first")
        return url
    }

    /// A fresh directory under /tmp (short, so socket paths stay under 108 bytes).
    static func temporaryDirectory() throws -> String {
        let path = "/tmp/arca-e2e-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
        return path
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a program to completion, with `timeout` as a guard against hangs. Output goes to files, not
    /// pipes: a daemon started meanwhile by a parallel test may inherit a pipe's write end and hold it.
    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 60
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let base = NSTemporaryDirectory() + "arca-run-" + UUID().uuidString
        let outPath = base + ".out", errPath = base + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath)
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        try? out.close(); try? err.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate();
            Issue.record("\(executable.lastPathComponent) \(arguments) did not finish in \(timeout) s")
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    static func arcactl(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try run(executable("arcactl"), arguments, environment: environment)
    }
}

/// One running arcad on a temporary socket; stopped with SIGTERM at the end of the test.
final class Daemon {
    let process = Process()
    let socket: String
    let directory: String
    let log: String

    /// With `isolatedState` (and no `--config` among `arguments`) the daemon's state directory —
    /// kernel cache, bench history — is a temporary one, not /var/lib/arca.
    /// `launcher` runs arcad through another program that execs it in place (same pid), e.g.
    /// `setpriv --reuid=USER --regid=GROUP --init-groups --`.
    init(
        socket: String? = nil, arguments: [String] = [], environment: [String: String] = [:],
        isolatedState: Bool = true,
        launcher: [String] = []
    ) throws {
        directory = try Harness.temporaryDirectory()
        self.socket = socket ?? directory + "/arcad.sock"
        log = directory + "/arcad.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let arcad = try Harness.executable("arcad")
        var arguments = arguments
        if isolatedState && !arguments.contains("--config") {
            let config = directory + "/arcad.toml"
            try "[state]\ndirectory = \"\(directory)/state\"\n".write(toFile: config, atomically: true, encoding: .utf8)
            arguments += ["--config", config]
        }
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [arcad.path, "--socket", self.socket] + arguments
        } else {
            process.executableURL = arcad
            process.arguments = ["--socket", self.socket] + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle?.close()
        try waitUntilServing()
    }

    func waitUntilServing(timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning { Issue.record("arcad exited early: \(logText)"); throw CancellationError() }
            if (try? Harness.arcactl(["status", "--socket", socket, "--timeout", "2"]))?.status == 0 { return }
            usleep(100_000)
        }
        Issue.record("arcad did not serve within \(timeout) s: \(logText)")
        throw CancellationError()
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Raw HTTP/1.1 over a Unix socket, to send what no well-behaved client would.
enum RawHTTP {
    static func connect(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(status == 0, "connect \(path): \(String(cString: strerror(errno)))")
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    static func send(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads one response (status line and body, by Content-Length).
    static func receive(_ descriptor: Int32) -> (status: Int, body: String) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            data += buffer[0..<count]
            let text = String(decoding: data, as: UTF8.self)
            if let split = text.range(of: "\r\n\r\n") {
                let head = text[..<split.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[split.upperBound...].utf8.count >= length { break }
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    static func exchange(_ path: String, _ request: String) throws -> (status: Int, body: String) {
        let descriptor = try connect(path)
        defer { close(descriptor) }
        send(descriptor, Array(request.utf8))
        return receive(descriptor)
    }
}
