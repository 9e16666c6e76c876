import COpenSSL

/// Authenticated encryption: AES-256-GCM or SM4-GCM with a 12-byte random IV and a 16-byte tag. A
/// sealed box is `IV ‖ ciphertext ‖ tag`.
///
/// Each runs on libcrypto's own GCM when it has one (`EVP_CIPHER_fetch`); SM4-GCM on a libcrypto
/// without it (OpenSSL 3.0) runs as ``GaloisCounterMode`` over libcrypto's SM4-ECB. Both give the same
/// boxes (RFC 8998 A.1, `Tests/ArcaCryptoTests/Vectors`).
public enum AEAD: String, Sendable, CaseIterable {
    case aes256gcm = "aes-256-gcm"
    case sm4gcm = "sm4-gcm"

    public static let keyBytes = 32
    static let ivBytes = 12, tagBytes = 16

    /// Bytes of the key the cipher uses: 32 for AES-256, 16 for SM4 (the first 16 of a ``keyBytes`` key).
    var keyLength: Int { self == .aes256gcm ? 32 : 16 }

    /// How this libcrypto runs the cipher.
    private enum Implementation {
        /// libcrypto's own GCM; the caller frees the `EVP_CIPHER` (`EVP_CIPHER_free`).
        case evp(OpaquePointer)
        /// ``GaloisCounterMode`` over this ECB block cipher.
        case composed(blockCipher: String)
    }

    /// The one place that chooses between libcrypto's GCM and the composed one.
    private func implementation() throws -> Implementation {
        if let cipher = EVP_CIPHER_fetch(nil, rawValue, nil) { return .evp(cipher) }
        ERR_clear_error()
        if self == .sm4gcm { return .composed(blockCipher: "SM4-ECB") }
        throw CryptoError(
            function: "EVP_CIPHER_fetch",
            reason: "\(rawValue) is not available in \(OpenSSLLibrary.version)")
    }

    /// Encrypts `plaintext` under `key` (32 bytes; SM4 uses its first 16), binding `associatedData`.
    /// - Returns: `IV ‖ ciphertext ‖ tag`: 12 + `plaintext.count` + 16 bytes, the IV fresh from
    ///   ``SecureRandom``.
    /// - Throws: ``CryptoError`` on a short key or a libcrypto failure.
    public func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        try seal(plaintext, key: key, iv: try SecureRandom.bytes(Self.ivBytes), associatedData: associatedData)
    }

    /// ``seal(_:key:associatedData:)`` with a chosen 12-byte IV, for known-answer tests (RFC 8998 A.1,
    /// NIST CAVP). Internal: a second message under the same key and IV gives away both plaintexts' XOR
    /// and lets anyone forge tags.
    func seal(_ plaintext: [UInt8], key: [UInt8], iv: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count >= keyLength else {
            throw CryptoError(
                function: "AEAD.seal",
                reason: "key of \(key.count) bytes; \(rawValue) needs \(keyLength)")
        }
        precondition(iv.count == Self.ivBytes, "an AEAD IV is \(Self.ivBytes) bytes, not \(iv.count)")
        let key = Array(key.prefix(keyLength))
        switch try implementation() {
        case .evp(let cipher):
            defer { EVP_CIPHER_free(cipher) }
            return try evpSeal(cipher, plaintext, key: key, iv: iv, associatedData: associatedData)
        case .composed(let name):
            let gcm = GaloisCounterMode(try BlockCipher(name, key: key))
            let (ciphertext, tag) = try gcm.seal(plaintext, iv: iv, associatedData: associatedData)
            return iv + ciphertext + tag
        }
    }

    /// Decrypts a box from ``seal(_:key:associatedData:)``.
    /// - Throws: ``CryptoError`` when the box is short, or the key, data or associated data differ
    ///   (the tag does not verify).
    public func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard box.count >= Self.ivBytes + Self.tagBytes, key.count >= keyLength else {
            throw CryptoError(
                function: "AEAD.open",
                reason: "sealed box of \(box.count) bytes is too short, or the key is")
        }
        let iv = Array(box.prefix(Self.ivBytes)), tag = Array(box.suffix(Self.tagBytes))
        let body = Array(box.dropFirst(Self.ivBytes).dropLast(Self.tagBytes))
        let key = Array(key.prefix(keyLength))
        let opened: [UInt8]?
        switch try implementation() {
        case .evp(let cipher):
            defer { EVP_CIPHER_free(cipher) }
            opened = try evpOpen(cipher, body, tag: tag, key: key, iv: iv, associatedData: associatedData)
        case .composed(let name):
            opened = GaloisCounterMode(try BlockCipher(name, key: key))
                .open(body, tag: tag, iv: iv, associatedData: associatedData)
        }
        guard let opened else {
            throw CryptoError(
                function: "AEAD.open",
                reason: "the \(rawValue) tag does not verify: wrong key, or the sealed data was altered")
        }
        return opened
    }

    /// `EVP_EncryptInit_ex`, `EVP_EncryptUpdate` (associated data, then plaintext), `EVP_EncryptFinal_ex`,
    /// `EVP_CTRL_GCM_GET_TAG`.
    private func evpSeal(
        _ cipher: OpaquePointer, _ plaintext: [UInt8], key: [UInt8], iv: [UInt8],
        associatedData: [UInt8]
    ) throws -> [UInt8] {
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var length: Int32 = 0, total = 0
        guard EVP_EncryptInit_ex(context, cipher, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.ivBytes), nil) == 1,
            EVP_EncryptInit_ex(context, nil, nil, key, iv) == 1
        else {
            throw CryptoError.last("EVP_EncryptInit_ex(\(rawValue))")
        }
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError.last("EVP_EncryptUpdate")
            }
        }
        guard
            out.withUnsafeMutableBufferPointer({
                EVP_EncryptUpdate(context, $0.baseAddress, &length, plaintext, Int32(plaintext.count))
            }) == 1
        else { throw CryptoError.last("EVP_EncryptUpdate") }
        total = Int(length)
        guard
            out.withUnsafeMutableBufferPointer({
                EVP_EncryptFinal_ex(context, $0.baseAddress! + total, &length)
            }) == 1
        else { throw CryptoError.last("EVP_EncryptFinal_ex") }
        total += Int(length)
        var tag = [UInt8](repeating: 0, count: Self.tagBytes)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), &tag) == 1 else {
            throw CryptoError.last("EVP_CTRL_GCM_GET_TAG")
        }
        return iv + out.prefix(total) + tag
    }

    /// `EVP_DecryptInit_ex`, `EVP_DecryptUpdate`, `EVP_CTRL_GCM_SET_TAG`, `EVP_DecryptFinal_ex`.
    /// - Returns: the plaintext, or `nil` when the tag does not verify.
    private func evpOpen(
        _ cipher: OpaquePointer, _ body: [UInt8], tag: [UInt8], key: [UInt8], iv: [UInt8],
        associatedData: [UInt8]
    ) throws -> [UInt8]? {
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var length: Int32 = 0, total = 0
        guard EVP_DecryptInit_ex(context, cipher, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.ivBytes), nil) == 1,
            EVP_DecryptInit_ex(context, nil, nil, key, iv) == 1
        else {
            throw CryptoError.last("EVP_DecryptInit_ex(\(rawValue))")
        }
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError.last("EVP_DecryptUpdate")
            }
        }
        guard
            out.withUnsafeMutableBufferPointer({
                EVP_DecryptUpdate(context, $0.baseAddress, &length, body, Int32(body.count))
            }) == 1
        else { throw CryptoError.last("EVP_DecryptUpdate") }
        total = Int(length)
        var tagCopy = tag
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), &tagCopy) == 1,
            out.withUnsafeMutableBufferPointer({
                EVP_DecryptFinal_ex(context, $0.baseAddress! + total, &length)
            }) == 1
        else {
            ERR_clear_error()
            return nil
        }
        total += Int(length)
        return Array(out.prefix(total))
    }
}
