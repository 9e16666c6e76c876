import Glibc

/// A TCP endpoint written `host:port`: an IPv4 address, a name, or an IPv6 address in brackets
/// (`[::1]:7443`, `[fd00::5]:7443`).
public struct TCPAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) { self.host = host; self.port = port }

    /// Parses `host:port` or `[v6]:port`.
    /// - Throws: ``TCPError`` when the text is not of that shape or the port is not 0–65535.
    public init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw TCPError("address \"\(text.prefix(200))\" is not host:port (IPv6 as [addr]:port)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw TCPError("address \"\(text.prefix(200))\": write an IPv6 address in brackets, [addr]:port")
        }
        guard !host.isEmpty else { throw TCPError("address \"\(text.prefix(200))\" has no host") }
        self.host = host; self.port = port
    }

    /// `host:port`, or `[host]:port` for an IPv6 address.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A TCP operation that failed, with the address and the error number when there is one.
public struct TCPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// The system's error number, when a system call failed.
    public var errno: Errno?
    public init(_ description: String, errno: Errno? = nil) { self.description = description; self.errno = errno }
}

/// Blocking TCP sockets over IPv4 and IPv6 (`getaddrinfo`), each descriptor close-on-exec.
public enum TCP {
    /// Binds and listens on `address` (the first of `getaddrinfo`'s answers that binds), with
    /// `SO_REUSEADDR`; an IPv6 listener on `::` also takes IPv4 where the system allows it.
    /// - Returns: the listening descriptor and the port bound (the one asked for, or the system's
    ///   choice for port 0).
    /// - Throws: ``TCPError`` naming the address and the failing call.
    public static func listen(_ address: TCPAddress, backlog: Int32 = 64) throws -> (descriptor: Int32, port: UInt16) {
        var failure = TCPError("listen \(address): no address to bind")
        for info in try resolve(address, passive: true) {
            let descriptor = socket(info.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                failure = TCPError("listen \(address): socket: \(Errno.current)", errno: .current); continue
            }
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = info.address.withUnsafeBytes { raw in
                bind(descriptor, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
            guard bound == 0, Glibc.listen(descriptor, backlog) == 0 else {
                let code = Errno.current
                Glibc.close(descriptor)
                failure = TCPError("listen \(address): \(code)", errno: code); continue
            }
            return (descriptor, localPort(descriptor) ?? address.port)
        }
        throw failure
    }

    /// Accepts one connection on `listener`, retrying on `EINTR`/`ECONNABORTED`; sets
    /// `TCP_NODELAY`. Returns nil when the listener was closed (or fails for good).
    /// - Returns: the connection's descriptor and the remote end as `host:port` (`[v6]:port`).
    public static func accept(_ listener: Int32) -> (descriptor: Int32, remote: TCPAddress)? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let descriptor = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener, $0, &length) }
            }
            if descriptor < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return nil
            }
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            setNoDelay(descriptor)
            let remote =
                withUnsafePointer(to: &storage) { name(of: UnsafeRawPointer($0)) } ?? TCPAddress(host: "?", port: 0)
            return (descriptor, remote)
        }
    }

    /// A blocking connection to `address` (every `getaddrinfo` answer tried in turn, IPv6 and IPv4),
    /// with send and receive timeouts of `timeout` and `TCP_NODELAY`.
    /// - Throws: ``TCPError`` naming the address and the last failure.
    public static func dial(_ address: TCPAddress, timeout: Duration) throws -> Int32 {
        var failure = TCPError("\(address): no address to connect to")
        for info in try resolve(address, passive: false) {
            let descriptor = socket(info.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                failure = TCPError("\(address): socket: \(Errno.current)", errno: .current); continue
            }
            setTimeouts(descriptor, timeout)
            let connected = info.address.withUnsafeBytes { raw in
                Glibc.connect(descriptor, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
            guard connected == 0 else {
                let code = Errno.current
                Glibc.close(descriptor)
                failure = TCPError("\(address): connect: \(code)", errno: code); continue
            }
            setNoDelay(descriptor)
            return descriptor
        }
        throw failure
    }

    /// Sets `SO_RCVTIMEO` and `SO_SNDTIMEO` (whole milliseconds); `.zero` removes them (block without
    /// limit).
    public static func setTimeouts(_ descriptor: Int32, _ timeout: Duration) {
        let milliseconds = timeout <= .zero ? 0 : max(1, Int(timeout.milliseconds))
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setNoDelay(_ descriptor: Int32) {
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    struct Resolved { var family: Int32; var address: [UInt8] }

    static func resolve(_ address: TCPAddress, passive: Bool) throws -> [Resolved] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        if passive { hints.ai_flags = AI_PASSIVE }
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &result)
        guard status == 0 else {
            throw TCPError("\(address): cannot resolve \(address.host): \(Errno.sentence(status, addressInfo: true))")
        }
        defer { freeaddrinfo(result) }
        var answers: [Resolved] = []
        var next = result
        while let info = next {
            let bytes = UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen))
            answers.append(Resolved(family: info.pointee.ai_family, address: Array(bytes)))
            next = info.pointee.ai_next
        }
        return answers
    }

    /// The local port of a bound socket (`getsockname`), IPv4 or IPv6.
    public static func localPort(_ descriptor: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0 else { return nil }
        return withUnsafePointer(to: &storage) { name(of: UnsafeRawPointer($0))?.port }
    }

    /// The numeric host and port of a `sockaddr_in` or `sockaddr_in6`.
    static func name(of raw: UnsafeRawPointer) -> TCPAddress? {
        let family = Int32(raw.load(as: sockaddr.self).sa_family)
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch family {
        case AF_INET:
            var address = raw.load(as: sockaddr_in.self)
            inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
            return TCPAddress(host: string(text), port: UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            var address = raw.load(as: sockaddr_in6.self)
            inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
            return TCPAddress(host: string(text), port: UInt16(bigEndian: address.sin6_port))
        default:
            return nil
        }
    }

    static func string(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
