import ArcaAPI
import ArcaSystem
import Foundation
import Glibc

/// The management socket's path and its claim: at most one live arcad per path.
///
/// The claim is an exclusive `flock` on `PATH.lock`, held for the daemon's life; the kernel drops it
/// when the process dies, however it dies. A daemon that gets the lock knows any socket file at the
/// path is stale (its owner is gone) and replaces it; one that does not get it refuses to start and
/// leaves the live daemon's socket alone.
public final class ManagementSocket: @unchecked Sendable {
    public let path: String
    private let lockDescriptor: Int32
    private var boundInode: UInt64?
    /// True when this process made the socket's directory (it then gets the socket's group too).
    private var createdDirectory = false

    /// The socket path (``API/socketPath(flag:environment:configured:)``, with the config's
    /// `[server] socket` after `ARCA_SOCKET`).
    public static func resolvePath(flag: String?, environment: [String: String], config: ArcadConfig) -> String {
        API.socketPath(flag: flag, environment: environment, configured: config.socketPath)
    }

    /// Claims `path` for this process: creates its directory when missing, takes the lock, and
    /// removes a stale socket.
    /// - Throws: ``SocketClaimError`` when another arcad serves the path, when the path is not a
    ///   socket, or when the directory or lock cannot be made.
    public init(claiming path: String) throws {
        self.path = path
        guard path.utf8.count < 108 else {  // sizeof(sockaddr_un.sun_path)
            throw SocketClaimError("socket path \(path) is \(path.utf8.count) bytes; a Unix socket path must be under 108")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
                createdDirectory = true
            } catch {
                throw SocketClaimError("cannot create the socket directory \(directory): \(error.localizedDescription)")
            }
        }
        let lockPath = path + ".lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SocketClaimError("cannot open the lock file \(lockPath): \(Errno.current)")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw SocketClaimError("another arcad is already serving \(path) (it holds \(lockPath)); not starting a second one")
        }
        // From here a failure gives the lock file back: nothing is left behind by a start that fails.
        func fail(_ message: String) -> SocketClaimError {
            unlink(lockPath)
            close(descriptor)
            return SocketClaimError(message)
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw fail("\(path) exists and is not a socket; move it away or choose another --socket")
            }
            // Stale only if nobody answers on it: the lock file may have been removed (a tmp cleaner)
            // from under a live daemon, or the socket may belong to another program.
            if Self.accepts(path) {
                throw fail("something is listening on \(path) (another arcad whose lock file was removed, or another program); not replacing it")
            }
            unlink(path)
        }
        self.lockDescriptor = descriptor
    }

    /// True when a process accepts connections on the socket at `path` (a connect succeeds).
    static func accepts(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)  // a full backlog must not hang the start
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return status == 0 || errno == EAGAIN
    }

    deinit { close(lockDescriptor) }

    /// Sets the socket's mode to 0660 explicitly (the bind used the umask) and remembers its inode,
    /// so that ``remove()`` deletes this socket and never a successor's.
    public func didBind() throws {
        guard chmod(path, 0o660) == 0 else {
            throw SocketClaimError("cannot chmod 0660 \(path): \(Errno.current)")
        }
        var info = stat()
        if lstat(path, &info) == 0 { boundInode = UInt64(info.st_ino) }
    }

    /// Gives the socket (and its directory, when arcad made it) to group `gid`, owner unchanged:
    /// with mode 0660 only the owner and that group's members can connect. Only root can do this
    /// for a group it is not in; for other users it is tried and a failure reported.
    public func grantGroup(_ gid: UInt32) throws {
        guard chown(path, geteuid(), gid) == 0 else {
            throw SocketClaimError("cannot give \(path) to group \(gid): \(Errno.current)")
        }
        if createdDirectory { _ = chown((path as NSString).deletingLastPathComponent, geteuid(), gid) }
    }

    /// Removes the socket file if it is still the one this process bound; true when it did.
    @discardableResult
    public func remove() -> Bool {
        var info = stat()
        guard let boundInode, lstat(path, &info) == 0, UInt64(info.st_ino) == boundInode else { return false }
        return unlink(path) == 0
    }
}

public struct SocketClaimError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
