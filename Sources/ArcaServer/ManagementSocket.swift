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
    /// Where the server binds: `s` in a 0700 directory beside ``path``, moved to ``path`` by ``publish(group:)``.
    public let bindPath: String
    private let bindDirectory: String
    private let lockDescriptor: Int32
    private var boundInode: UInt64?
    /// True when this process made the socket's directory (it then gets the socket's group too).
    private var createdDirectory = false

    /// The socket path (``API/socketPath(flag:environment:configured:)``, with the config's
    /// `[server] socket` after `ARCA_SOCKET`).
    public static func resolvePath(flag: String?, environment: [String: String], config: ArcadConfig) -> String {
        API.socketPath(flag: flag, environment: environment, configured: config.socketPath)
    }

    /// Claims `path` for this process: checks (or creates) its directory, takes the lock, removes a
    /// stale socket and makes the private directory the socket is bound in (``bindPath``).
    /// - Throws: ``SocketClaimError`` when another arcad serves the path, when the path is not a
    ///   socket, when the directory is not arcad's own, or when the directory or lock cannot be made.
    public init(claiming path: String) throws {
        self.path = path
        guard path.utf8.count < 108 else {  // sizeof(sockaddr_un.sun_path)
            throw SocketClaimError(
                "socket path \(path) is \(path.utf8.count) bytes; a Unix socket path must be under 108")
        }
        let directory = (path as NSString).deletingLastPathComponent
        bindDirectory = directory + "/.arcad-bind-\(getpid())"
        bindPath = bindDirectory + "/s"
        guard bindPath.utf8.count < 108 else {
            throw SocketClaimError(
                "socket path \(path) is too long: arcad binds it first as \(bindPath) "
                    + "(\(bindPath.utf8.count) bytes; under 108 needed); choose a shorter --socket")
        }
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                let parent = (directory as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                if mkdir(directory, 0o700) == 0 {
                    createdDirectory = true
                } else if errno != EEXIST {
                    throw SocketClaimError("\(Errno.current)")
                }
            } catch {
                throw SocketClaimError("cannot create the socket directory \(directory): \(error)")
            }
        }
        try Self.checkDirectory(directory, created: createdDirectory)
        let lockPath = path + ".lock"
        // O_NOFOLLOW: a link put at PATH.lock must not make arcad open (or create) its target.
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : "\(Errno.current)"
            throw SocketClaimError("cannot open the lock file \(lockPath): \(reason)")
        }
        var lockInfo = stat()
        guard fstat(descriptor, &lockInfo) == 0, lockInfo.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw SocketClaimError("the lock file \(lockPath) is not a regular file; move it away")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw SocketClaimError(
                "another arcad is already serving \(path) (it holds \(lockPath)); not starting a second one")
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
                throw fail(
                    """
                    something is listening on \(path) (another arcad whose lock file was removed, or another \
                    program); not replacing it
                    """
                )
            }
            unlink(path)
        }
        // The private directory the socket is bound in. One left by a killed arcad with the same pid
        // is ours (the socket directory lets nobody else write): it is emptied and made again.
        unlink(bindPath)
        rmdir(bindDirectory)
        guard mkdir(bindDirectory, 0o700) == 0 else {
            throw fail("cannot create \(bindDirectory): \(Errno.current)")
        }
        self.lockDescriptor = descriptor
    }

    /// Refuses a socket directory that someone other than arcad's user (or root) could change:
    /// whoever can write there can swap the socket for a link between its bind and its chmod.
    /// A directory arcad made itself is set to 0750 here, through its descriptor.
    static func checkDirectory(_ directory: String, created: Bool) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SocketClaimError("cannot open the socket directory \(directory): \(Errno.current)")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw SocketClaimError("cannot stat the socket directory \(directory): \(Errno.current)")
        }
        if created && info.st_uid == geteuid() { fchmod(descriptor, 0o750); fstat(descriptor, &info) }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        let owner =
            getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) + " (uid \(info.st_uid))" }
            ?? "uid \(info.st_uid)"
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw SocketClaimError(
                "the socket directory \(directory) is owned by \(owner), mode \(mode): "
                    + "it must be owned by arcad's user (uid \(geteuid())) or root; "
                    + "choose another --socket")
        }
        guard info.st_mode & 0o022 == 0 else {
            let example = directory == "/tmp" ? "/tmp/arca-\(geteuid())" : "a subdirectory"
            throw SocketClaimError(
                "the socket directory \(directory) is owned by \(owner), mode \(mode): "
                    + "others can write to it and could replace the socket; "
                    + "use a directory of arcad's own (arcad makes a missing one 0750), e.g. \(example)")
        }
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return status == 0 || errno == EAGAIN
    }

    deinit { close(lockDescriptor) }

    /// Publishes the socket bound at ``bindPath``: mode 0660, group `gid` (when given; the
    /// directory's too when arcad made it), then renamed to ``path``. Remembers its inode, so that
    /// ``remove()`` deletes this socket and never a successor's.
    ///
    /// Why bind in a private directory and rename, rather than chmod and chown at `path`: on Linux
    /// the mode of a socket file comes from the umask at `bind` (an `fchmod` of the descriptor
    /// before `bind` does not reach the file), and `chmod`/`chown` by path follow a link that
    /// someone put there after the bind — as root, that would hand a system file to the view group.
    /// In the 0700 directory only arcad's user can touch the file; `lchown` never follows a link;
    /// and `rename` replaces whatever is at `path` (a link included) without following it. The
    /// socket appears at `path` only once its mode and owner are final.
    /// - Returns: a warning when the group could not be given (a non-root arcad outside `gid`).
    /// - Throws: ``SocketClaimError`` when the socket cannot be made 0660 or put in place.
    public func publish(group gid: UInt32?) throws -> String? {
        var info = stat()
        guard lstat(bindPath, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else {
            throw SocketClaimError("the socket arcad bound at \(bindPath) is gone or not a socket")
        }
        guard chmod(bindPath, 0o660) == 0 else {
            throw SocketClaimError("cannot chmod 0660 \(bindPath): \(Errno.current)")
        }
        var warning: String?
        if let gid {
            if lchown(bindPath, geteuid(), gid) != 0 {
                warning = "cannot give \(path) to group \(gid): \(Errno.current)"
            } else if createdDirectory {
                _ = lchown((path as NSString).deletingLastPathComponent, geteuid(), gid)
            }
        }
        guard rename(bindPath, path) == 0 else {
            let reason = "\(Errno.current)"
            throw SocketClaimError("cannot move the socket from \(bindPath) to \(path): \(reason)")
        }
        rmdir(bindDirectory)
        boundInode = UInt64(info.st_ino)
        return warning
    }

    /// Removes what a start that cannot serve leaves: the private bind directory and the lock file.
    public func abandon() {
        unlink(bindPath)
        rmdir(bindDirectory)
        unlink(path + ".lock")
    }

    /// Removes the socket file if it is still the one this process bound; true when it did.
    @discardableResult
    public func remove() -> Bool {
        unlink(bindPath)  // still there when the server never came up
        rmdir(bindDirectory)
        var info = stat()
        guard let boundInode, lstat(path, &info) == 0, UInt64(info.st_ino) == boundInode else { return false }
        return unlink(path) == 0
    }
}

public struct SocketClaimError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
