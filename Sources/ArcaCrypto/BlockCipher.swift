import COpenSSL

/// One 128-bit block cipher under one key, block by block (ECB through EVP: `EVP_CIPHER_fetch`,
/// `EVP_EncryptInit_ex`, `EVP_EncryptUpdate` with padding off): the primitive beneath
/// ``GaloisCounterMode``, and what the GB/T 32907-2016 known answers check. Owns its `EVP_CIPHER_CTX`,
/// freed in `deinit`.
///
/// Internal on purpose: ECB leaks equal plaintext blocks and is no way to encrypt data; callers seal
/// with ``AEAD``.
/// - Warning: use from one thread at a time (the context holds the key schedule and EVP state).
final class BlockCipher {
    /// Bytes in one block.
    static let blockBytes = 16
    /// The EVP name, e.g. `SM4-ECB` or `AES-256-ECB`.
    let name: String
    private let context: OpaquePointer

    /// - Parameters:
    ///   - name: an ECB cipher with 16-byte blocks as libcrypto names it (`SM4-ECB`, `AES-128-ECB`, `AES-256-ECB`).
    ///   - key: exactly the cipher's key length (16 bytes for SM4 and AES-128, 32 for AES-256).
    /// - Throws: ``CryptoError`` when libcrypto lacks the cipher, its block is not 16 bytes, or the key
    ///   length differs.
    init(_ name: String, key: [UInt8]) throws {
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil) else {
            ERR_clear_error()
            throw CryptoError(
                function: "EVP_CIPHER_fetch",
                reason: "\(name) is not available in \(OpenSSLLibrary.version)")
        }
        defer { EVP_CIPHER_free(cipher) }
        guard Int(EVP_CIPHER_get_block_size(cipher)) == Self.blockBytes,
            Int(EVP_CIPHER_get_key_length(cipher)) == key.count
        else {
            throw CryptoError(
                function: "BlockCipher(\(name))",
                reason: "key of \(key.count) bytes; \(name) needs \(EVP_CIPHER_get_key_length(cipher)) "
                    + "and a block of \(Self.blockBytes) (has \(EVP_CIPHER_get_block_size(cipher)))")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.last("EVP_CIPHER_CTX_new") }
        guard EVP_EncryptInit_ex(context, cipher, nil, key, nil) == 1,
            EVP_CIPHER_CTX_set_padding(context, 0) == 1
        else {
            EVP_CIPHER_CTX_free(context)
            throw CryptoError.last("EVP_EncryptInit_ex(\(name))")
        }
        self.name = name
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `blocks` in place, each 16-byte block on its own.
    /// - Parameter blocks: a whole number of 16-byte blocks (a broken precondition traps).
    func encrypt(_ blocks: inout [UInt8]) {
        precondition(blocks.count % Self.blockBytes == 0, "\(blocks.count) bytes is not a whole number of blocks")
        guard !blocks.isEmpty else { return }
        var length: Int32 = 0
        let ok = blocks.withUnsafeMutableBufferPointer {
            EVP_EncryptUpdate(context, $0.baseAddress, &length, $0.baseAddress, Int32($0.count))
        }
        // ECB without padding on whole blocks has no failure mode but a broken context.
        precondition(ok == 1 && Int(length) == blocks.count, "EVP_EncryptUpdate(\(name)) failed")
    }

    /// One block encrypted: `E(key, block)`.
    /// - Parameter block: 16 bytes.
    func encrypt(block: [UInt8]) -> [UInt8] {
        precondition(block.count == Self.blockBytes, "a block is \(Self.blockBytes) bytes, not \(block.count)")
        var out = block
        encrypt(&out)
        return out
    }
}
