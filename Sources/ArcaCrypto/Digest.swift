import COpenSSL

/// An error from libcrypto, with the call and OpenSSL's own error string (`ERR_error_string_n`).
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    public var function: String
    public var reason: String
    public var description: String { "\(function) failed: \(reason)" }

    static func last(_ function: String) -> CryptoError {
        let code = ERR_get_error()
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return CryptoError(
            function: function,
            reason: code == 0
                ? "no OpenSSL error queued"
                : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// Facts about the libcrypto Arca runs on.
public enum OpenSSLLibrary {
    /// `OpenSSL_version(OPENSSL_VERSION)`, e.g. `OpenSSL 3.0.17 1 Jul 2025`.
    public static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}

/// Message digests through EVP (`EVP_Digest`).
public enum Digest: String, Sendable, CaseIterable {
    case sha256 = "SHA256"
    case sm3 = "SM3"

    /// The digest of `data`: 32 bytes for SHA-256 and SM3 (GB/T 32905-2016).
    /// - Throws: ``CryptoError`` when libcrypto lacks the algorithm.
    public func hash<Bytes: Collection<UInt8>>(_ data: Bytes) throws -> [UInt8] {
        guard let md = EVP_get_digestbyname(rawValue) else {
            throw CryptoError(
                function: "EVP_get_digestbyname", reason: "\(rawValue) is not available in \(OpenSSLLibrary.version)")
        }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let input = Array(data)
        let ok = input.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &length, md, nil) }
        guard ok == 1 else { throw CryptoError.last("EVP_Digest(\(rawValue))") }
        return Array(out.prefix(Int(length)))
    }

    /// `sha256` or `sm3`: the name in the configuration, the store and the audit log.
    public var name: String { self == .sha256 ? "sha256" : "sm3" }

    /// The digest named `sha256` or `sm3` (``name``); nil for any other name.
    public init?(name: String) {
        guard let digest = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = digest
    }

    /// The digest as lowercase hex.
    public func hex<Bytes: Collection<UInt8>>(_ data: Bytes) throws -> String {
        try hash(data).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
