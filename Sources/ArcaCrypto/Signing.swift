import ArcaSystem
import COpenSSL
import Foundation
import Glibc

/// The signature schemes of the appliance key.
public enum SignatureAlgorithm: String, Sendable, CaseIterable {
    /// Ed25519 (RFC 8032): 32-byte public keys, 64-byte signatures.
    case ed25519
    /// SM2 (GB/T 32918.2-2016) with SM3 and the default identifier `1234567812345678`: public keys
    /// as DER SubjectPublicKeyInfo, signatures as DER (r, s).
    case sm2
}

/// A signing key held in an OpenSSL `EVP_PKEY`, freed with the object.
///
/// The key file is one line: for Ed25519 the 32-byte private seed as 64 lowercase hex digits; for
/// SM2 `sm2:` and the private key's DER (`i2d_PrivateKey`) in hex. It is created with mode 0600 and
/// refused when group or others may read it.
public final class SigningKey: @unchecked Sendable {
    private let key: OpaquePointer
    public let algorithm: SignatureAlgorithm

    private init(key: OpaquePointer, algorithm: SignatureAlgorithm) { self.key = key; self.algorithm = algorithm }
    deinit { EVP_PKEY_free(key) }

    /// A fresh key from OpenSSL's CSPRNG.
    public static func generate(_ algorithm: SignatureAlgorithm = .ed25519) throws -> SigningKey {
        switch algorithm {
        case .ed25519:
            var seed = [UInt8](repeating: 0, count: 32)
            guard RAND_bytes(&seed, 32) == 1 else { throw CryptoError.last("RAND_bytes") }
            defer { for index in seed.indices { seed[index] = 0 } }
            return try SigningKey(seed: seed)
        case .sm2:
            guard let context = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else {
                throw CryptoError.last("EVP_PKEY_CTX_new_from_name(SM2)")
            }
            defer { EVP_PKEY_CTX_free(context) }
            var key: OpaquePointer?
            guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else {
                throw CryptoError.last("EVP_PKEY_keygen(SM2)")
            }
            return SigningKey(key: key, algorithm: .sm2)
        }
    }

    /// The Ed25519 key of a 32-byte seed (`EVP_PKEY_new_raw_private_key`).
    public convenience init(seed: [UInt8]) throws {
        guard seed.count == 32 else {
            throw CryptoError(function: "SigningKey", reason: "an Ed25519 seed is 32 bytes, got \(seed.count)")
        }
        guard
            let key = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(arca_EVP_PKEY_ED25519(), nil, $0.baseAddress, 32)
            })
        else {
            throw CryptoError.last("EVP_PKEY_new_raw_private_key(ED25519)")
        }
        self.init(key: key, algorithm: .ed25519)
    }

    /// Reads the key at `path`, or makes one of `algorithm` there (mode 0600) when there is none.
    /// - Throws: ``CryptoError`` when the file is readable by group or others, is not a key file,
    ///   holds a key of another algorithm, or cannot be written.
    public static func loadOrCreate(path: String, algorithm: SignatureAlgorithm = .ed25519) throws -> SigningKey {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & 0o077 == 0 else {
                throw CryptoError(
                    function: "SigningKey",
                    reason: "\(path) has mode \(String(info.st_mode & 0o777, radix: 8)); a key file must be 0600")
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CryptoError(function: "SigningKey", reason: "\(path) cannot be read as a key file")
            }
            let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let key: SigningKey
            if line.hasPrefix("sm2:") {
                guard let der = hexBytes(String(line.dropFirst(4))) else {
                    throw CryptoError(function: "SigningKey", reason: "\(path) is not an SM2 key file")
                }
                key = try SigningKey(sm2DER: der, path: path)
            } else {
                guard let seed = hexBytes(line), seed.count == 32 else {
                    throw CryptoError(
                        function: "SigningKey",
                        reason: "\(path) is not a key file (64 hex digits of an Ed25519 seed, or sm2: and DER)")
                }
                key = try SigningKey(seed: seed)
            }
            guard key.algorithm == algorithm else {
                throw CryptoError(
                    function: "SigningKey",
                    reason:
                        """
                        \(path) holds an \(key.algorithm.rawValue) key, not \(algorithm.rawValue); the appliance \
                        key's algorithm is fixed when it is made
                        """
                )
            }
            return key
        }
        let key = try generate(algorithm)
        let line = Data((try key.privateKeyText()).utf8) + Data("\n".utf8)
        do {
            try AtomicFile.write(line, to: path)
        } catch {
            throw CryptoError(function: "write", reason: "\(error)")
        }
        return key
    }

    private convenience init(sm2DER der: [UInt8], path: String) throws {
        var pointer: UnsafePointer<UInt8>? = nil
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            pointer = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &pointer, buffer.count)
        }
        guard let key else { throw CryptoError.last("d2i_AutoPrivateKey(\(path))") }
        self.init(key: key, algorithm: .sm2)
    }

    private func privateKeyText() throws -> String {
        switch algorithm {
        case .ed25519:
            var length = 32
            var seed = [UInt8](repeating: 0, count: 32)
            guard EVP_PKEY_get_raw_private_key(key, &seed, &length) == 1 else {
                throw CryptoError.last("EVP_PKEY_get_raw_private_key")
            }
            return hexString(seed)
        case .sm2:
            var der: UnsafeMutablePointer<UInt8>? = nil
            let length = i2d_PrivateKey(key, &der)
            guard length > 0, let der else { throw CryptoError.last("i2d_PrivateKey(SM2)") }
            defer { arca_OPENSSL_free(der) }
            return "sm2:" + hexString(UnsafeBufferPointer(start: der, count: Int(length)))
        }
    }

    /// The public key: 32 raw bytes for Ed25519, DER SubjectPublicKeyInfo for SM2.
    public var publicKey: [UInt8] {
        switch algorithm {
        case .ed25519:
            var length = 32
            var bytes = [UInt8](repeating: 0, count: 32)
            _ = EVP_PKEY_get_raw_public_key(key, &bytes, &length)
            return bytes
        case .sm2:
            var der: UnsafeMutablePointer<UInt8>? = nil
            let length = i2d_PUBKEY(key, &der)
            guard length > 0, let der else { return [] }
            defer { arca_OPENSSL_free(der) }
            return Array(UnsafeBufferPointer(start: der, count: Int(length)))
        }
    }

    /// SM2's distinguishing identifier, the default of GB/T 32918.2.
    static let sm2Identifier = Array("1234567812345678".utf8)

    /// A message-digest context set up for `key`: no digest for Ed25519 (it hashes itself), SM3 and
    /// the identifier for SM2.
    private static func withContext<T>(
        _ key: OpaquePointer, _ algorithm: SignatureAlgorithm, signing: Bool,
        _ body: (OpaquePointer) throws -> T
    ) throws -> T {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.last("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        switch algorithm {
        case .ed25519:
            let ok =
                signing
                ? EVP_DigestSignInit(context, nil, nil, nil, key) : EVP_DigestVerifyInit(context, nil, nil, nil, key)
            guard ok == 1 else { throw CryptoError.last(signing ? "EVP_DigestSignInit" : "EVP_DigestVerifyInit") }
            return try body(context)
        case .sm2:
            guard let keyContext = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.last("EVP_PKEY_CTX_new") }
            defer { EVP_PKEY_CTX_free(keyContext) }
            guard
                sm2Identifier.withUnsafeBufferPointer({
                    EVP_PKEY_CTX_set1_id(keyContext, $0.baseAddress, Int32($0.count))
                }) == 1
            else {
                throw CryptoError.last("EVP_PKEY_CTX_set1_id")
            }
            EVP_MD_CTX_set_pkey_ctx(context, keyContext)
            defer { EVP_MD_CTX_set_pkey_ctx(context, nil) }  // the key context is freed here, not by the digest context
            let ok =
                signing
                ? EVP_DigestSignInit(context, nil, EVP_sm3(), nil, key)
                : EVP_DigestVerifyInit(context, nil, EVP_sm3(), nil, key)
            guard ok == 1 else {
                throw CryptoError.last(signing ? "EVP_DigestSignInit(SM2)" : "EVP_DigestVerifyInit(SM2)")
            }
            return try body(context)
        }
    }

    /// The signature of `message` (`EVP_DigestSign`): 64 bytes for Ed25519, DER for SM2.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try Self.withContext(key, algorithm, signing: true) { context in
            var length = 0
            guard
                message.withUnsafeBufferPointer({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) })
                    == 1
            else {
                throw CryptoError.last("EVP_DigestSign")
            }
            var signature = [UInt8](repeating: 0, count: length)
            guard
                message.withUnsafeBufferPointer({
                    EVP_DigestSign(context, &signature, &length, $0.baseAddress, $0.count)
                }) == 1
            else {
                throw CryptoError.last("EVP_DigestSign")
            }
            return Array(signature.prefix(length))
        }
    }

    /// True when `signature` is `publicKey`'s signature of `message` (`EVP_DigestVerify`).
    public static func verify(
        signature: [UInt8], message: [UInt8], publicKey: [UInt8], algorithm: SignatureAlgorithm = .ed25519
    ) -> Bool {
        let key: OpaquePointer?
        switch algorithm {
        case .ed25519:
            guard publicKey.count == 32 else { return false }
            key = publicKey.withUnsafeBufferPointer {
                EVP_PKEY_new_raw_public_key(arca_EVP_PKEY_ED25519(), nil, $0.baseAddress, 32)
            }
        case .sm2:
            var pointer: UnsafePointer<UInt8>? = nil
            key = publicKey.withUnsafeBufferPointer { buffer in
                pointer = buffer.baseAddress
                return d2i_PUBKEY(nil, &pointer, buffer.count)
            }
        }
        guard let key else { return false }
        defer { EVP_PKEY_free(key) }
        return
            (try? withContext(key, algorithm, signing: false) { context in
                signature.withUnsafeBufferPointer { s in
                    message.withUnsafeBufferPointer { m in
                        EVP_DigestVerify(context, s.baseAddress, s.count, m.baseAddress, m.count) == 1
                    }
                }
            }) ?? false
    }
}

/// Lowercase hex of `bytes`.
public func hexString<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// The bytes of an even-length hex string, or nil.
public func hexBytes(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(chars.count / 2)
    func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
    var index = 0
    while index < chars.count {
        guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}
