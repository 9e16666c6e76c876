import COpenSSL

/// An arbitrary-precision non-negative integer held in an OpenSSL `BIGNUM` (freed in `deinit`).
/// Immutable once made.
public final class BigNumber: @unchecked Sendable, Equatable, CustomStringConvertible {
    let bn: OpaquePointer

    init(owning bn: OpaquePointer) { self.bn = bn }
    deinit { BN_clear_free(bn) }

    /// From big-endian bytes (`BN_bin2bn`).
    public convenience init(bigEndian bytes: [UInt8]) {
        self.init(owning: bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }!)
    }

    /// From 64-bit words, least significant first.
    public convenience init(words: [UInt64]) {
        self.init(bigEndian: words.reversed().flatMap { word in (0..<8).reversed().map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } })
    }

    /// From decimal digits (`BN_dec2bn`); `nil` when `text` is not a non-negative decimal integer.
    public convenience init?(decimal text: String) {
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else { return nil }
        var result: OpaquePointer?
        guard BN_dec2bn(&result, text) > 0, let result else { return nil }
        self.init(owning: result)
    }

    /// A uniformly random integer of exactly `bits` bits (top bit set); odd when `odd` (`BN_rand`).
    /// - Throws: ``CryptoError`` when the generator fails (its return value is checked: an unchecked
    ///   failure would leave zero, a "random" secret everyone knows).
    public convenience init(randomBits bits: Int, odd: Bool = false) throws {
        let bn = BN_new()!
        guard bits > 0, BN_rand(bn, Int32(bits), 0, odd ? 1 : 0) == 1 else {
            BN_free(bn)
            throw bits > 0 ? CryptoError.last("BN_rand") : CryptoError(function: "BN_rand", reason: "\(bits) bits")
        }
        self.init(owning: bn)
    }

    /// A uniformly random integer in [0, bound) (`BN_rand_range`).
    /// - Throws: ``CryptoError`` when the bound is zero or the generator fails.
    public convenience init(randomBelow bound: BigNumber) throws {
        let bn = BN_new()!
        guard !bound.isZero, BN_rand_range(bn, bound.bn) == 1 else {
            BN_free(bn)
            throw bound.isZero
                ? CryptoError(function: "BN_rand_range", reason: "the bound is zero")
                : CryptoError.last("BN_rand_range")
        }
        self.init(owning: bn)
    }

    public var bitCount: Int { Int(BN_num_bits(bn)) }

    /// Big-endian bytes, no leading zeros (`BN_bn2bin`).
    public var bigEndianBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(arca_BN_num_bytes(bn)))
        _ = bytes.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
        return bytes
    }

    /// 64-bit words, least significant first, padded with zeros to `count` words.
    public func words(count: Int) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: count)
        for (index, byte) in bigEndianBytes.reversed().enumerated() where index / 8 < count {
            words[index / 8] |= UInt64(byte) << (8 * UInt64(index % 8))
        }
        return words
    }

    /// Exactly `count` 64-bit words, least significant first, through `BN_bn2lebinpad` (fixed-width
    /// output, constant time in the value for a given width): for secret values, where ``words(count:)``
    /// would walk only the bytes the value has.
    /// - Precondition: the value fits `count` words.
    public func paddedWords(_ count: Int) -> [UInt64] {
        var bytes = [UInt8](repeating: 0, count: 8 * count)
        let written = bytes.withUnsafeMutableBufferPointer { BN_bn2lebinpad(bn, $0.baseAddress, Int32(8 * count)) }
        precondition(written == Int32(8 * count), "a value of \(bitCount) bits does not fit \(count) words")
        var words = [UInt64](repeating: 0, count: count)
        for index in 0..<(8 * count) { words[index / 8] |= UInt64(bytes[index]) << (8 * UInt64(index % 8)) }
        bytes.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = 0 }
        }
        return words
    }

    /// Decimal digits (`BN_bn2dec`).
    public var description: String {
        guard let text = BN_bn2dec(bn) else { return "?" }
        defer { arca_OPENSSL_free(text) }
        return String(cString: text)
    }

    public static func == (a: BigNumber, b: BigNumber) -> Bool { BN_cmp(a.bn, b.bn) == 0 }

    /// base^exponent mod modulus in constant time (`BN_mod_exp_mont_consttime`): the time and memory
    /// access do not depend on the exponent. Exponents are secrets (Paillier's r, a DH key).
    /// - Throws: ``CryptoError`` when the modulus is even or zero.
    public static func modExpConstantTime(_ base: BigNumber, _ exponent: BigNumber, _ modulus: BigNumber) throws -> BigNumber {
        guard BN_is_odd(modulus.bn) == 1 else {
            throw CryptoError(function: "BN_mod_exp_mont_consttime", reason: "the modulus must be odd")
        }
        let result = BN_new()!, context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        BN_set_flags(exponent.bn, Int32(BN_FLG_CONSTTIME))
        guard BN_mod_exp_mont_consttime(result, base.bn, exponent.bn, modulus.bn, context, nil) == 1 else {
            BN_free(result)
            throw CryptoError.last("BN_mod_exp_mont_consttime")
        }
        return BigNumber(owning: result)
    }

    /// −m⁻¹ mod 2^64 for odd m: the Montgomery constant of 64-bit limbs (Newton iteration).
    public static func montgomeryN0(_ modulus: BigNumber) -> UInt64 {
        let m0 = modulus.words(count: 1)[0]
        var inverse: UInt64 = 1
        for _ in 0..<6 { inverse = inverse &* (2 &- m0 &* inverse) }
        return 0 &- inverse
    }

    /// R² mod m with R = 2^(64·limbs): converts into Montgomery form.
    public static func montgomeryR2(_ modulus: BigNumber, limbs: Int) -> BigNumber {
        let r2 = BN_new()!, context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        BN_set_word(r2, 1)
        BN_lshift(r2, r2, Int32(128 * limbs))
        BN_nnmod(r2, r2, modulus.bn, context)
        return BigNumber(owning: r2)
    }
}
