import COpenSSL

/// GCM over a 128-bit block cipher (NIST SP 800-38D §7, with a 96-bit IV and a 128-bit tag), composed
/// from libcrypto's block cipher: Arca's SM4-GCM (RFC 8998 §3.1.1; GB/T 36624-2018) where libcrypto has
/// no SM4-GCM of its own: OpenSSL 3.0 ships SM4-ECB and SM4-CTR, but no SM4-GCM.
///
/// The counter is `IV ‖ 32-bit block counter`, starting at 2 for the data (`J0 = IV ‖ 1` masks the tag);
/// GHASH multiplies in GF(2^128) with SP 800-38D's bit order (Algorithm 1), without tables or branches
/// on secret bits. Checked against RFC 8998 A.1 (SM4) and NIST's AES-GCM vectors, with AES as the block.
struct GaloisCounterMode {
    static let ivBytes = 12, tagBytes = 16
    /// SP 800-38D §5.2.1.1: at most 2^32 - 2 blocks of plaintext.
    static let maxPlaintextBytes = ((1 << 32) - 2) * BlockCipher.blockBytes

    let cipher: BlockCipher
    /// `H = E(K, 0^128)`, high and low 64 bits.
    private let hashKey: (UInt64, UInt64)

    init(_ cipher: BlockCipher) {
        self.cipher = cipher
        hashKey = Self.load(cipher.encrypt(block: [UInt8](repeating: 0, count: 16)), at: 0)
    }

    /// - Parameters:
    ///   - iv: 12 bytes, never repeated under one key.
    /// - Returns: the ciphertext (as long as `plaintext`) and the 16-byte tag.
    /// - Throws: ``CryptoError`` when `plaintext` is over 2^32 - 2 blocks.
    func seal(
        _ plaintext: [UInt8], iv: [UInt8],
        associatedData: [UInt8]
    ) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
        precondition(iv.count == Self.ivBytes, "a GCM IV here is \(Self.ivBytes) bytes, not \(iv.count)")
        guard plaintext.count <= Self.maxPlaintextBytes else {
            throw CryptoError(
                function: "GCM.seal(\(cipher.name))",
                reason: "\(plaintext.count) bytes is over GCM's limit")
        }
        let ciphertext = counterMode(plaintext, iv: iv)
        return (ciphertext, tag(ciphertext, iv: iv, associatedData: associatedData))
    }

    /// The plaintext, or `nil` when `tag` does not verify (it is compared in constant time, before any
    /// decryption).
    func open(_ ciphertext: [UInt8], tag: [UInt8], iv: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        precondition(iv.count == Self.ivBytes, "a GCM IV here is \(Self.ivBytes) bytes, not \(iv.count)")
        guard tag.count == Self.tagBytes, ciphertext.count <= Self.maxPlaintextBytes else { return nil }
        let expected = self.tag(ciphertext, iv: iv, associatedData: associatedData)
        guard CRYPTO_memcmp(expected, tag, Self.tagBytes) == 0 else { return nil }
        return counterMode(ciphertext, iv: iv)
    }

    /// GCTR from counter block `IV ‖ 2` (SP 800-38D §6.5); the same call encrypts and decrypts.
    private func counterMode(_ data: [UInt8], iv: [UInt8]) -> [UInt8] {
        let blocks = (data.count + 15) / 16
        var stream = [UInt8](repeating: 0, count: blocks * 16)
        for index in 0..<blocks {
            let counter = UInt32(truncatingIfNeeded: index + 2)
            stream.replaceSubrange(index * 16..<index * 16 + 12, with: iv)
            for byte in 0..<4 { stream[index * 16 + 12 + byte] = UInt8(truncatingIfNeeded: counter >> (24 - 8 * byte)) }
        }
        cipher.encrypt(&stream)
        return data.indices.map { data[$0] ^ stream[$0] }
    }

    /// `E(K, J0) ⊕ GHASH(A ‖ 0* ‖ C ‖ 0* ‖ [len(A)]64 ‖ [len(C)]64)`, lengths in bits (SP 800-38D §7.1).
    private func tag(_ ciphertext: [UInt8], iv: [UInt8], associatedData: [UInt8]) -> [UInt8] {
        var y: (UInt64, UInt64) = (0, 0)
        absorb(&y, associatedData)
        absorb(&y, ciphertext)
        y = multiply((y.0 ^ (UInt64(associatedData.count) &* 8), y.1 ^ (UInt64(ciphertext.count) &* 8)), hashKey)
        let mask = Self.load(cipher.encrypt(block: iv + [0, 0, 0, 1]), at: 0)
        return Self.store((y.0 ^ mask.0, y.1 ^ mask.1))
    }

    /// `Y = (Y ⊕ X) • H` for each 16-byte block `X` of `data`, the last padded with zeros.
    private func absorb(_ y: inout (UInt64, UInt64), _ data: [UInt8]) {
        var offset = 0
        while offset < data.count {
            var block = [UInt8](repeating: 0, count: 16)
            let end = min(offset + 16, data.count)
            block.replaceSubrange(0..<end - offset, with: data[offset..<end])
            let x = Self.load(block, at: 0)
            y = multiply((y.0 ^ x.0, y.1 ^ x.1), hashKey)
            offset = end
        }
    }

    /// `x • y` in GF(2^128) with the polynomial x^128 + x^7 + x^2 + x + 1, bit 0 the most significant
    /// bit of the high word (SP 800-38D Algorithm 1). Masks, not branches, on the bits of `x` and `v`.
    private func multiply(_ x: (UInt64, UInt64), _ y: (UInt64, UInt64)) -> (UInt64, UInt64) {
        var z: (UInt64, UInt64) = (0, 0)
        var v = y
        for i in 0..<128 {
            let bit = i < 64 ? (x.0 >> (63 - UInt64(i))) & 1 : (x.1 >> (127 - UInt64(i))) & 1
            let take = 0 &- bit
            z = (z.0 ^ (v.0 & take), z.1 ^ (v.1 & take))
            let reduce = 0 &- (v.1 & 1)
            v = ((v.0 >> 1) ^ (0xE100_0000_0000_0000 & reduce), (v.1 >> 1) | (v.0 << 63))
        }
        return z
    }

    private static func load(_ bytes: [UInt8], at offset: Int) -> (UInt64, UInt64) {
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 {
            high = high << 8 | UInt64(bytes[offset + i])
            low = low << 8 | UInt64(bytes[offset + 8 + i])
        }
        return (high, low)
    }

    private static func store(_ value: (UInt64, UInt64)) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value.0 >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: value.1 >> (56 - 8 * UInt64($0))) }
    }
}
