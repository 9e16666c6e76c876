import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An Ed25519 signing key (RFC 8032) held in an OpenSSL `EVP_PKEY`, freed with the object.
///
/// The key file holds the 32-byte private seed as 64 lowercase hex digits and a newline; it is
/// created with mode 0600 and refused when group or others may read it.
public final class SigningKey: @unchecked Sendable {
    private let key: OpaquePointer

    private init(key: OpaquePointer) { self.key = key }
    deinit { EVP_PKEY_free(key) }

    /// A fresh key from OpenSSL's CSPRNG (`RAND_bytes`, `EVP_PKEY_new_raw_private_key`).
    public static func generate() throws -> SigningKey {
        var seed = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&seed, 32) == 1 else { throw CryptoError.last("RAND_bytes") }
        defer { for index in seed.indices { seed[index] = 0 } }
        return try SigningKey(seed: seed)
    }

    /// The key of a 32-byte Ed25519 seed.
    public convenience init(seed: [UInt8]) throws {
        guard seed.count == 32 else { throw CryptoError(function: "SigningKey", reason: "an Ed25519 seed is 32 bytes, got \(seed.count)") }
        guard let key = seed.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(arca_EVP_PKEY_ED25519(), nil, $0.baseAddress, 32) }) else {
            throw CryptoError.last("EVP_PKEY_new_raw_private_key(ED25519)")
        }
        self.init(key: key)
    }

    /// Reads the key at `path`, or makes one there (mode 0600) when there is none.
    /// - Throws: ``CryptoError`` when the file is readable by group or others, is not 64 hex digits,
    ///   or cannot be written.
    public static func loadOrCreate(path: String) throws -> SigningKey {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & 0o077 == 0 else {
                throw CryptoError(function: "SigningKey", reason: "\(path) has mode \(String(info.st_mode & 0o777, radix: 8)); a key file must be 0600")
            }
            guard let text = try? String(contentsOfFile: path), let seed = hexBytes(text.trimmingCharacters(in: .whitespacesAndNewlines)), seed.count == 32 else {
                throw CryptoError(function: "SigningKey", reason: "\(path) is not an Ed25519 key file (64 hex digits)")
            }
            return try SigningKey(seed: seed)
        }
        let key = try generate()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CryptoError(function: "open", reason: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let line = Array((hexString(try key.privateSeed()) + "\n").utf8)
        guard write(descriptor, line, line.count) == line.count, fsync(descriptor) == 0 else {
            throw CryptoError(function: "write", reason: "\(path): \(String(cString: strerror(errno)))")
        }
        return key
    }

    private func privateSeed() throws -> [UInt8] {
        var length = 32
        var seed = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_get_raw_private_key(key, &seed, &length) == 1 else { throw CryptoError.last("EVP_PKEY_get_raw_private_key") }
        return seed
    }

    /// The 32-byte public key.
    public var publicKey: [UInt8] {
        var length = 32
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = EVP_PKEY_get_raw_public_key(key, &bytes, &length)
        return bytes
    }

    /// The 64-byte Ed25519 signature of `message` (`EVP_DigestSign`).
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.last("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else { throw CryptoError.last("EVP_DigestSignInit") }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        let ok = message.withUnsafeBufferPointer { EVP_DigestSign(context, &signature, &length, $0.baseAddress, $0.count) }
        guard ok == 1 else { throw CryptoError.last("EVP_DigestSign") }
        return Array(signature.prefix(length))
    }

    /// True when `signature` is `publicKey`'s Ed25519 signature of `message` (`EVP_DigestVerify`).
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard publicKey.count == 32,
              let key = publicKey.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(arca_EVP_PKEY_ED25519(), nil, $0.baseAddress, 32) }) else {
            return false
        }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in EVP_DigestVerify(context, s.baseAddress, s.count, m.baseAddress, m.count) == 1 }
        }
    }
}

/// Lowercase hex of `bytes`.
public func hexString<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
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
