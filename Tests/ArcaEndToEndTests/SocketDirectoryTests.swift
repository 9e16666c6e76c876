import ArcaAPI
import Foundation
import Testing

/// The management socket's directory must be arcad's own, and nothing arcad does to the socket
/// follows a link put at its path (leak 9 of issue 13).
@Suite("the socket directory and links at the socket's path", .serialized)
struct SocketDirectoryTests {
    func mode(_ path: String) -> (mode: UInt32, uid: UInt32, gid: UInt32)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt32(info.st_mode & 0o7777), info.st_uid, info.st_gid)
    }

    @Test func aDirectoryOthersCanWriteIsRefusedNamingItsOwnerAndMode() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shared = directory + "/shared"
        try #require(mkdir(shared, 0o777) == 0 && chmod(shared, 0o777) == 0)
        let refused = try Harness.run(Harness.executable("arcad"), ["--socket", shared + "/arcad.sock"], timeout: 30)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("the socket directory \(shared) is owned by")
                && refused.stderr.contains("mode 777") && refused.stderr.contains("others can write"),
            "\(refused.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: shared).isEmpty,
            "nothing is made in a refused directory")

        // Group-writable is refused too; sticky /tmp itself is no socket directory.
        try #require(chmod(shared, 0o770) == 0)
        let group = try Harness.run(Harness.executable("arcad"), ["--socket", shared + "/arcad.sock"], timeout: 30)
        #expect(group.status == 1 && group.stderr.contains("mode 770"), "\(group.stderr)")
        let tmp = "/tmp/arca-e2e-\(UUID().uuidString.prefix(8)).sock"
        let inTmp = try Harness.run(Harness.executable("arcad"), ["--socket", tmp], timeout: 30)
        #expect(
            inTmp.status == 1 && inTmp.stderr.contains("the socket directory /tmp is owned by root")
                && inTmp.stderr.contains("mode 1777"), "\(inTmp.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp) && !FileManager.default.fileExists(atPath: tmp + ".lock"))

        // A private directory arcad makes (here under sticky /tmp's subdirectory) is 0750 and served.
        let made = directory + "/made"
        let daemon = try Daemon(socket: made + "/arcad.sock")
        #expect(mode(made)?.mode == 0o750)
        #expect(mode(made + "/arcad.sock")?.mode == 0o660)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: made).sorted() == ["arcad.sock", "arcad.sock.lock"],
            "the private bind directory is gone once the socket is in place")
        #expect(daemon.stop() == 0)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to make a directory another user owns"))
    func aDirectoryOwnedByAnotherUserIsRefused() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let foreign = directory + "/foreign"
        try #require(mkdir(foreign, 0o755) == 0)
        let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
        try #require(chown(foreign, nobody, 0) == 0)
        let refused = try Harness.run(Harness.executable("arcad"), ["--socket", foreign + "/arcad.sock"], timeout: 30)
        #expect(
            refused.status == 1
                && refused.stderr.contains("\(foreign) is owned by nobody (uid \(nobody)), mode 755")
                && refused.stderr.contains("must be owned by arcad's user"), "\(refused.stderr)")
    }

    @Test func aLinkAtTheSocketOrLockPathNeverHasItsTargetChanged() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/target"
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: target))
        try #require(chmod(target, 0o604) == 0)
        let before = try #require(mode(target))
        let socket = directory + "/arcad.sock"

        // A link in place before the start: refused, the target untouched.
        try #require(symlink(target, socket) == 0)
        let atSocket = try Harness.run(Harness.executable("arcad"), ["--socket", socket], timeout: 30)
        #expect(atSocket.status == 1 && atSocket.stderr.contains("exists and is not a socket"), "\(atSocket.stderr)")
        unlink(socket)
        try #require(symlink(target, socket + ".lock") == 0)
        let atLock = try Harness.run(Harness.executable("arcad"), ["--socket", socket], timeout: 30)
        #expect(
            atLock.status == 1 && atLock.stderr.contains("lock file \(socket).lock: it is a symbolic link"),
            "\(atLock.stderr)")
        unlink(socket + ".lock")
        #expect(mode(target)! == before)

        // A link swapped in the moment a socket appears at the path (where a chmod or chown by path
        // after the bind would follow it): arcad serves on, and the target keeps its mode and owner.
        let swapper = Swapper(socket: socket, target: target)
        Thread.detachNewThread { swapper.run() }
        defer { swapper.stop() }
        let config = directory + "/arcad.toml"
        try "[state]\ndirectory = \"\(directory)/state\"\n[devices]\nopencl = false\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try Harness.executable("arcad")
        process.arguments = ["--socket", socket, "--config", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(60)
        while !swapper.swapped && process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(swapper.swapped, "arcad put a socket at \(socket)")
        usleep(500_000)  // time for anything arcad would still do at the path
        swapper.stop()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(mode(target)! == before, "the link's target keeps mode \(String(before.mode, radix: 8)) and its owner")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me\n")
    }
}

/// Replaces a socket that appears at `socket` with a link to `target`, on its own thread.
final class Swapper: @unchecked Sendable {
    let socket: String, target: String
    private let lock = NSLock()
    private var stopped = false, didSwap = false
    init(socket: String, target: String) { self.socket = socket; self.target = target }
    var swapped: Bool { lock.withLock { didSwap } }
    func stop() { lock.withLock { stopped = true } }
    func run() {
        while !lock.withLock({ stopped }) {
            var info = stat()
            if lstat(socket, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK,
                unlink(socket) == 0, symlink(target, socket) == 0
            {
                lock.withLock { didSwap = true }
            }
            usleep(200)
        }
    }
}
