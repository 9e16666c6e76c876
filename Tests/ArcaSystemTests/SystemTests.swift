import Foundation
import Glibc
import Testing

@testable import ArcaSystem

@Suite("The system layer")
struct SystemTests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "arca-system-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func errnoNamesTheSystemsSentence() {
        #expect(Errno(rawValue: ENOENT).description == "No such file or directory")
        #expect(Errno.noSuchFile == Errno(rawValue: ENOENT))
        let error = SystemError("open", "/nonexistent/x", .noSuchFile)
        #expect(error.description == "open /nonexistent/x: No such file or directory")
    }

    @Test func atomicWriteReplacesTheFileWithTheModeAsked() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/record.json"
        try AtomicFile.write(Data("old\n".utf8), to: path)
        try AtomicFile.write(Data("new\n".utf8), to: path, mode: 0o640)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o640)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory) == ["record.json"],
            "no temporary file is left")
    }

    @Test func aFailedWriteLeavesTheOldFileAndNoTemporary() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/record.json"
        try AtomicFile.write(Data("old\n".utf8), to: path)
        // A non-empty directory in the file's place: the rename fails after the data was written.
        let blocked = directory + "/blocked"
        try FileManager.default.createDirectory(atPath: blocked + "/inside", withIntermediateDirectories: true)
        #expect(throws: SystemError.self) { try AtomicFile.write(Data("new\n".utf8), to: blocked) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["blocked", "record.json"])
    }

    /// A process killed between the write and the rename: the file keeps its old content whole.
    @Test func aCrashBeforeTheRenameLeavesTheOldFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/record.json"
        try AtomicFile.write(Data("old\n".utf8), to: path)
        let child = fork()
        if child == 0 {
            // The child writes a large new content and dies (SIGKILL) right before the rename.
            try? AtomicFile.write(
                Data(repeating: UInt8(ascii: "x"), count: 1 << 20), to: path, mode: 0o600,
                beforeRename: {
                    kill(getpid(), SIGKILL)
                })
            _exit(3)  // not reached
        }
        #expect(child > 0)
        var status: Int32 = 0
        #expect(waitpid(child, &status, 0) == child)
        #expect(status & 0x7f == SIGKILL, "the child was killed, status \(status)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
    }

    @Test func tcpAddressesIncludeIPv6InBrackets() throws {
        #expect(try TCPAddress(parsing: "127.0.0.1:7443") == TCPAddress(host: "127.0.0.1", port: 7443))
        #expect(try TCPAddress(parsing: "[::1]:7443") == TCPAddress(host: "::1", port: 7443))
        #expect(try TCPAddress(parsing: "bank-b.example:1") == TCPAddress(host: "bank-b.example", port: 1))
        #expect(TCPAddress(host: "fd00::5", port: 9).description == "[fd00::5]:9")
        for bad in ["::1:7443", "host", "host:70000", ":7443", "[::1]"] {
            #expect(throws: TCPError.self, "\(bad)") { _ = try TCPAddress(parsing: bad) }
        }
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func listenAcceptAndDialOnLoopback(host: String) throws {
        let (listener, port) = try TCP.listen(TCPAddress(host: host, port: 0))
        defer { close(listener) }
        #expect(port != 0)
        let client = try TCP.dial(TCPAddress(host: host, port: port), timeout: .seconds(5))
        defer { close(client) }
        let accepted = try #require(TCP.accept(listener))
        defer { close(accepted.descriptor) }
        #expect(accepted.remote.host == host)
        #expect(write(client, "ping", 4) == 4)
        var buffer = [UInt8](repeating: 0, count: 4)
        #expect(read(accepted.descriptor, &buffer, 4) == 4 && buffer == Array("ping".utf8))
    }

    @Test func dialingAClosedPortNamesTheAddressAndErrno() throws {
        let (listener, port) = try TCP.listen(TCPAddress(host: "127.0.0.1", port: 0))
        close(listener)
        do {
            _ = try TCP.dial(TCPAddress(host: "127.0.0.1", port: port), timeout: .seconds(2))
            Issue.record("a closed port must refuse")
        } catch let error as TCPError {
            #expect(error.errno == Errno(rawValue: ECONNREFUSED))
            #expect(error.description == "127.0.0.1:\(port): connect: Connection refused")
        }
    }

    @Test func medianOfOddAndEvenCounts() {
        #expect(Timing.median([3, 1, 2]) == 2)
        #expect(Timing.median([4, 1, 3, 2]) == 2.5)
        #expect(Duration.milliseconds(1500).seconds == 1.5)
    }
}
