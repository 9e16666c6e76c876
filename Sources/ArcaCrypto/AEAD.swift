import COpenSSL

/// Authenticated encryption through EVP: AES-256-GCM or SM4-GCM with a 12-byte random IV and a
/// 16-byte tag. A sealed box is `IV ‖ ciphertext ‖ tag`.
public enum AEAD: String, Sendable, CaseIterable {
    case aes256gcm = "aes-256-gcm"
    case sm4gcm = "sm4-gcm"

    public static let keyBytes = 32
    static let ivBytes = 12, tagBytes = 16

    var keyLength: Int { self == .aes256gcm ? 32 : 16 }

    private func cipher() throws -> OpaquePointer {
        guard let cipher = EVP_get_cipherbyname(rawValue) else {
            throw CryptoError(function: "EVP_get_cipherbyname", reason: "\(rawValue) is not available in \(OpenSSLLibrary.version)")
        }
        return cipher
    }

    /// Encrypts `plaintext` under `key` (32 bytes; SM4 uses its first 16), binding `associatedData`.
    /// - Throws: ``CryptoError`` on a short key or a libcrypto failure.
    public func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard key.count >= keyLength else { throw CryptoError(function: "AEAD.seal", reason: "key of \(key.count) bytes; \(rawValue) needs \(keyLength)") }
        let iv = try SecureRandom.bytes(Self.ivBytes)
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var length: Int32 = 0, total = 0
        guard EVP_EncryptInit_ex(context, try cipher(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.ivBytes), nil) == 1,
              EVP_EncryptInit_ex(context, nil, nil, key, iv) == 1 else { throw CryptoError.last("EVP_EncryptInit_ex(\(rawValue))") }
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1 else { throw CryptoError.last("EVP_EncryptUpdate") }
        }
        guard out.withUnsafeMutableBufferPointer({ EVP_EncryptUpdate(context, $0.baseAddress, &length, plaintext, Int32(plaintext.count)) }) == 1 else {
            throw CryptoError.last("EVP_EncryptUpdate")
        }
        total = Int(length)
        guard out.withUnsafeMutableBufferPointer({ EVP_EncryptFinal_ex(context, $0.baseAddress! + total, &length) }) == 1 else {
            throw CryptoError.last("EVP_EncryptFinal_ex")
        }
        total += Int(length)
        var tag = [UInt8](repeating: 0, count: Self.tagBytes)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), &tag) == 1 else { throw CryptoError.last("EVP_CTRL_GCM_GET_TAG") }
        return iv + out.prefix(total) + tag
    }

    /// Decrypts a box from ``seal(_:key:associatedData:)``.
    /// - Throws: ``CryptoError`` when the box is short, or the key, data or associated data differ
    ///   (the tag does not verify).
    public func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard box.count >= Self.ivBytes + Self.tagBytes, key.count >= keyLength else {
            throw CryptoError(function: "AEAD.open", reason: "sealed box of \(box.count) bytes is too short, or the key is")
        }
        let iv = Array(box.prefix(Self.ivBytes)), tag = Array(box.suffix(Self.tagBytes))
        let body = Array(box.dropFirst(Self.ivBytes).dropLast(Self.tagBytes))
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var length: Int32 = 0, total = 0
        guard EVP_DecryptInit_ex(context, try cipher(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.ivBytes), nil) == 1,
              EVP_DecryptInit_ex(context, nil, nil, key, iv) == 1 else { throw CryptoError.last("EVP_DecryptInit_ex(\(rawValue))") }
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1 else { throw CryptoError.last("EVP_DecryptUpdate") }
        }
        guard out.withUnsafeMutableBufferPointer({ EVP_DecryptUpdate(context, $0.baseAddress, &length, body, Int32(body.count)) }) == 1 else {
            throw CryptoError.last("EVP_DecryptUpdate")
        }
        total = Int(length)
        var tagCopy = tag
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), &tagCopy) == 1,
              out.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(context, $0.baseAddress! + total, &length) }) == 1 else {
            ERR_clear_error()
            throw CryptoError(function: "AEAD.open", reason: "the \(rawValue) tag does not verify: wrong key, or the sealed data was altered")
        }
        total += Int(length)
        return Array(out.prefix(total))
    }
}
