import ArcaSystem
import COpenSSL
import Glibc

/// A TLS failure: the step (`load certificate`, `handshake`, …) and OpenSSL's reason.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public var step: String
    public var reason: String
    public var description: String { "TLS \(step): \(reason)" }
    public init(_ step: String, _ reason: String) { self.step = step; self.reason = reason }

    static func last(_ step: String) -> TLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(
            step,
            reasons.isEmpty
                ? (errno != 0 ? "\(Errno.current)" : "no OpenSSL error queued") : reasons.joined(separator: "; "))
    }
}

/// X.509 certificates as Arca pins them: by the SHA-256 of their DER encoding.
public enum Certificate {
    /// SHA-256 of the DER of the first certificate in the PEM file at `path`, lowercase hex.
    /// - Throws: ``TLSError`` when the file cannot be read or holds no PEM certificate.
    public static func sha256(pemFile path: String) throws -> String {
        guard let bio = BIO_new_file(path, "r") else { throw TLSError("read certificate \(path)", "\(Errno.current)") }
        defer { BIO_free(bio) }
        guard let x509 = PEM_read_bio_X509(bio, nil, nil, nil) else { throw TLSError.last("read certificate \(path)") }
        defer { X509_free(x509) }
        return try derSHA256(x509)
    }

    static func derSHA256(_ x509: OpaquePointer) throws -> String {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(x509, &out)
        guard length > 0, let out else { throw TLSError.last("encode certificate") }
        defer { arca_OPENSSL_free(out) }
        return try Digest.sha256.hex(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}

/// A TLS 1.3 endpoint configuration: this appliance's certificate and key, mutual authentication
/// required. Chains are not checked against a CA: the caller pins the peer's certificate after the
/// handshake (``TLSConnection/peerCertificateSHA256``), before any application data.
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    /// SHA-256 of this appliance's certificate (DER), lowercase hex.
    public let certificateSHA256: String

    /// - Throws: ``TLSError`` naming the file that cannot be used, or a key that does not match the certificate.
    public init(certificateFile: String, keyFile: String, server: Bool) throws {
        guard let context = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.last("SSL_CTX_new")
        }
        self.context = context
        guard arca_SSL_CTX_setup_tls13_mutual(context) == 1 else {
            SSL_CTX_free(context); throw TLSError.last("TLS 1.3 setup")
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
            SSL_CTX_free(context); throw TLSError.last("load certificate \(certificateFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1 else {
            SSL_CTX_free(context); throw TLSError.last("load key \(keyFile)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            SSL_CTX_free(context); throw TLSError.last("key \(keyFile) does not match certificate \(certificateFile)")
        }
        do { certificateSHA256 = try Certificate.sha256(pemFile: certificateFile) } catch {
            SSL_CTX_free(context); throw error
        }
    }
    deinit { SSL_CTX_free(context) }
}

/// One TLS connection over a connected socket it owns (closed in `deinit`). The handshake runs
/// blocking (the caller sets the socket's timeouts); afterwards the socket may be made
/// non-blocking and ``read(into:)``/``write(_:)`` report when they would block. One thread at a
/// time may use a connection.
public final class TLSConnection: @unchecked Sendable {
    let ssl: OpaquePointer
    public let descriptor: Int32

    public enum IO: Sendable, Equatable {
        /// Bytes read or written.
        case done(Int)
        case wantRead, wantWrite
        /// The peer closed the connection (close_notify or end of stream).
        case closed
    }

    public init(context: TLSContext, descriptor: Int32, server: Bool) throws {
        guard let ssl = SSL_new(context.context) else { throw TLSError.last("SSL_new") }
        self.ssl = ssl
        self.descriptor = descriptor
        SSL_set_fd(ssl, descriptor)
        if server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }
    deinit { SSL_free(ssl); close(descriptor) }

    /// Runs the TLS 1.3 handshake to its end. - Throws: ``TLSError`` with OpenSSL's reason.
    public func handshake() throws {
        ERR_clear_error()
        errno = 0
        guard SSL_do_handshake(ssl) == 1 else { throw TLSError.last("handshake") }
    }

    /// SHA-256 of the certificate the peer presented (DER), lowercase hex; nil when it presented none.
    public var peerCertificateSHA256: String? {
        guard let x509 = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(x509) }
        return try? Certificate.derSHA256(x509)
    }

    /// The negotiated protocol, e.g. `TLSv1.3`.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IO {
        ERR_clear_error()
        errno = 0
        var count = 0
        let status = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if status == 1 { return .done(count) }
        return try outcome(status, "read")
    }

    public func write(_ buffer: UnsafeRawBufferPointer) throws -> IO {
        ERR_clear_error()
        errno = 0
        var count = 0
        let status = SSL_write_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if status == 1 { return .done(count) }
        return try outcome(status, "write")
    }

    private func outcome(_ status: Int32, _ step: String) throws -> IO {
        let code = SSL_get_error(ssl, status)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            if ERR_peek_error() == 0 {
                // End of stream (errno 0) or a reset; anything else (EBADF: the descriptor was closed
                // under the connection) is an error with its name.
                let code = errno
                if code == 0 || code == ECONNRESET || code == EPIPE { return .closed }
                throw TLSError(step, "\(Errno(rawValue: code))")
            }
            throw TLSError.last(step)
        default:
            // A peer that vanished mid-record: OpenSSL's SSL_R_UNEXPECTED_EOF_WHILE_READING.
            if arca_ERR_is_unexpected_eof(ERR_peek_error()) != 0 {
                ERR_clear_error()
                return .closed
            }
            throw TLSError.last(step)
        }
    }

    /// Sends close_notify (best effort).
    public func shutdown() { _ = SSL_shutdown(ssl) }
}
