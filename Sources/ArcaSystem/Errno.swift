import Glibc

/// A POSIX error number, as swift-system's `Errno`: the raw `errno` value and the C library's
/// sentence for it. The one place in Arca that turns an error number into text.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno` now. Read it right after the failed call.
    public static var current: Errno { Errno(rawValue: errno) }

    /// The C library's sentence, e.g. "No such file or directory".
    public var description: String { Self.sentence(rawValue) }

    /// The C library's sentence for an `errno` value, or for a `getaddrinfo` status when `addressInfo`.
    static func sentence(_ code: Int32, addressInfo: Bool = false) -> String {
        String(cString: (addressInfo ? gai_strerror(code) : UnsafePointer(strerror(code)))!)
    }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let noSuchFile = Errno(rawValue: ENOENT)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let badDescriptor = Errno(rawValue: EBADF)
    public static let connectionAborted = Errno(rawValue: ECONNABORTED)
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
}

/// A system call that failed: which call, on what, and the error number.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    /// The C function, e.g. `open`, `rename`, `connect`.
    public var call: String
    /// What it was called on: a path, an address.
    public var context: String
    public var errno: Errno
    public init(_ call: String, _ context: String, _ errno: Errno = .current) {
        self.call = call; self.context = context; self.errno = errno
    }
    /// `rename /var/lib/arca/x.tmp: No such file or directory`.
    public var description: String { "\(call) \(context): \(errno)" }
}
