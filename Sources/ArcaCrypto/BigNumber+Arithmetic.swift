import COpenSSL

/// Arithmetic on non-negative ``BigNumber``s through OpenSSL's `BN_*` calls. Every result is a new
/// number; a result that would be negative is a precondition failure (callers keep signs themselves).
extension BigNumber: Comparable, Hashable {
    public convenience init(_ value: UInt64) {
        let bn = BN_new()!
        BN_set_word(bn, UInt(value))
        self.init(owning: bn)
    }

    public static func < (a: BigNumber, b: BigNumber) -> Bool { BN_cmp(a.bn, b.bn) < 0 }
    public func hash(into hasher: inout Hasher) { hasher.combine(bigEndianBytes) }

    public var isZero: Bool { BN_is_zero(bn) == 1 }
    public var isOdd: Bool { BN_is_odd(bn) == 1 }

    /// `self` if it fits 64 bits, else `nil`.
    public var uint64: UInt64? { bitCount <= 64 ? words(count: 1)[0] : nil }

    private static func make(_ body: (OpaquePointer, OpaquePointer?) -> Int32) -> BigNumber {
        let result = BN_new()!, context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        precondition(body(result, context) == 1, "BN operation failed: \(CryptoError.last("BN"))")
        return BigNumber(owning: result)
    }

    public static func + (a: BigNumber, b: BigNumber) -> BigNumber { make { r, _ in BN_add(r, a.bn, b.bn) } }

    /// a − b. - Precondition: a ≥ b.
    public static func - (a: BigNumber, b: BigNumber) -> BigNumber {
        precondition(a >= b, "BigNumber subtraction below zero")
        return make { r, _ in BN_sub(r, a.bn, b.bn) }
    }

    public static func * (a: BigNumber, b: BigNumber) -> BigNumber { make { r, c in BN_mul(r, a.bn, b.bn, c) } }

    /// ⌊a / b⌋ and a mod b. - Precondition: b ≠ 0.
    public func quotientAndRemainder(dividingBy divisor: BigNumber) -> (quotient: BigNumber, remainder: BigNumber) {
        precondition(!divisor.isZero, "division by zero")
        let remainder = BN_new()!
        let quotient = BigNumber.make { q, c in BN_div(q, remainder, bn, divisor.bn, c) }
        return (quotient, BigNumber(owning: remainder))
    }

    public static func / (a: BigNumber, b: BigNumber) -> BigNumber { a.quotientAndRemainder(dividingBy: b).quotient }
    public static func % (a: BigNumber, b: BigNumber) -> BigNumber { a.quotientAndRemainder(dividingBy: b).remainder }

    /// a · b mod m (`BN_mod_mul`).
    public static func modMul(_ a: BigNumber, _ b: BigNumber, _ m: BigNumber) -> BigNumber {
        make { r, c in BN_mod_mul(r, a.bn, b.bn, m.bn, c) }
    }

    /// a⁻¹ mod m, or `nil` when gcd(a, m) ≠ 1 (`BN_mod_inverse`).
    public static func modInverse(_ a: BigNumber, _ m: BigNumber) -> BigNumber? {
        let result = BN_new()!, context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        guard BN_mod_inverse(result, a.bn, m.bn, context) != nil else {
            ERR_clear_error()
            BN_free(result)
            return nil
        }
        return BigNumber(owning: result)
    }

    /// gcd(a, b) (`BN_gcd`).
    public static func gcd(_ a: BigNumber, _ b: BigNumber) -> BigNumber { make { r, c in BN_gcd(r, a.bn, b.bn, c) } }

    /// self · 2^bits.
    public func shiftedLeft(_ bits: Int) -> BigNumber { BigNumber.make { r, _ in BN_lshift(r, bn, Int32(bits)) } }
    /// ⌊self / 2^bits⌋.
    public func shiftedRight(_ bits: Int) -> BigNumber { BigNumber.make { r, _ in BN_rshift(r, bn, Int32(bits)) } }

    /// Bit `index` (0 = least significant).
    public func bit(_ index: Int) -> Bool { BN_is_bit_set(bn, Int32(index)) == 1 }

    /// A random prime of exactly `bits` bits from OpenSSL's generator (`BN_generate_prime_ex`, which
    /// sets the top two bits, so the product of two has exactly twice the bits).
    /// - Throws: ``CryptoError`` when generation fails.
    public static func randomPrime(bits: Int) throws -> BigNumber {
        let result = BN_new()!
        guard BN_generate_prime_ex(result, Int32(bits), 0, nil, nil, nil) == 1 else {
            BN_free(result)
            throw CryptoError.last("BN_generate_prime_ex")
        }
        return BigNumber(owning: result)
    }

    /// Whether `self` is prime with error probability below 2^-128 (`BN_check_prime`).
    public var isProbablePrime: Bool {
        let context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        return BN_check_prime(bn, context, nil) == 1
    }
}

/// Random numbers whose generator's return value is checked (the `init(random…)` forms predate this).
extension BigNumber {
    /// A uniformly random integer in [0, bound) (`BN_rand_range`).
    /// - Throws: ``CryptoError`` when the bound is zero or the generator fails.
    public static func random(below bound: BigNumber) throws -> BigNumber {
        guard !bound.isZero else { throw CryptoError(function: "BN_rand_range", reason: "the bound is zero") }
        let result = BN_new()!
        guard BN_rand_range(result, bound.bn) == 1 else {
            BN_free(result)
            throw CryptoError.last("BN_rand_range")
        }
        return BigNumber(owning: result)
    }

    /// A uniformly random integer in [0, 2^bits) (`BN_rand` with any top and bottom bit).
    /// - Throws: ``CryptoError`` when the generator fails.
    public static func random(bits: Int) throws -> BigNumber {
        precondition(bits > 0)
        let result = BN_new()!
        guard BN_rand(result, Int32(bits), -1, 0) == 1 else {  // BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY
            BN_free(result)
            throw CryptoError.last("BN_rand")
        }
        return BigNumber(owning: result)
    }

    /// A uniformly random unit in [1, n): drawn again while it is zero or shares a factor with n.
    /// - Throws: ``CryptoError`` when the generator fails.
    public static func randomUnit(modulo n: BigNumber) throws -> BigNumber {
        while true {
            let r = try random(below: n)
            if !r.isZero, gcd(r, n) == BigNumber(1) { return r }
        }
    }
}

/// Cryptographically secure random bytes (`RAND_bytes`).
public enum SecureRandom {
    /// - Throws: ``CryptoError`` when the generator is not seeded.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard bytes.withUnsafeMutableBufferPointer({ RAND_bytes($0.baseAddress, Int32(count)) }) == 1 else {
            throw CryptoError.last("RAND_bytes")
        }
        return bytes
    }
}
