/// A word-size prime modulus q < 2^62 with the constants Shoup multiplication needs.
///
/// Values handled by the lazy NTT live in [0, 4q), so q < 2^62 keeps 4q below 2^64.
public struct Modulus: Sendable, Equatable, Hashable {
    public let value: UInt64

    /// - Precondition: 2 ≤ q < 2^62 (a broken kernel precondition traps, as HEXL's `HEXL_CHECK`).
    public init(_ value: UInt64) {
        precondition(value >= 2 && value < (1 << 62), "modulus \(value) must be in [2, 2^62)")
        self.value = value
    }

    /// a·b mod q through the full 128-bit product.
    @inlinable public func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return q.dividingFullWidth((high, low)).remainder
    }

    @inlinable var q: UInt64 { value }

    @inlinable public func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let s = a &+ b; return s >= value ? s &- value : s
    }
    @inlinable public func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a &- b : a &+ value &- b }

    /// b^e mod q by square and multiply.
    public func power(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
        var result: UInt64 = 1, base = base % value, e = exponent
        while e > 0 {
            if e & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            e >>= 1
        }
        return result
    }

    /// a⁻¹ mod q for prime q (Fermat).
    public func inverse(_ a: UInt64) -> UInt64 { power(a, value - 2) }

    /// Shoup's precomputed companion of w: ⌊w·2^64 / q⌋, for w < q. Shoup 2007; Harvey 2014, §2.
    @inlinable public func shoup(_ w: UInt64) -> UInt64 {
        value.dividingFullWidth((w, 0)).quotient
    }
}

/// x·w mod q in [0, 2q), with w' = ⌊w·2^64/q⌋ (Harvey 2014, Algorithm 2). x may be any 64-bit value.
@inlinable @inline(__always)
public func multiplyShoupLazy(_ x: UInt64, _ w: UInt64, _ wShoup: UInt64, _ q: UInt64) -> UInt64 {
    let quotient = x.multipliedFullWidth(by: wShoup).high
    return x &* w &- quotient &* q
}

extension Modulus {
    /// True when q is prime (deterministic Miller–Rabin for 64-bit integers; bases 2…37).
    public static func isPrime(_ n: UInt64) -> Bool {
        if n < 2 { return false }
        for p: UInt64 in [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] where n % p == 0 { return n == p }
        var d = n - 1, s = 0
        while d & 1 == 0 { d >>= 1; s += 1 }
        let m = Modulus(n < (1 << 62) ? n : 3)  // callers stay below 2^62
        witness: for a: UInt64 in [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            var x = m.power(a, d)
            if x == 1 || x == n - 1 { continue }
            for _ in 1..<max(1, s) {
                x = m.multiply(x, x)
                if x == n - 1 { continue witness }
            }
            return false
        }
        return true
    }

    /// The largest `count` primes q < 2^bits with q ≡ 1 (mod 2·degree), largest first: the moduli
    /// of an NTT-friendly RNS basis.
    /// - Precondition: 2·degree divides 2^bits, bits ≤ 62.
    public static func nttPrimes(bits: Int, degree: Int, count: Int) -> [Modulus] {
        precondition(bits <= 62 && bits > 1 + degree.trailingZeroBitCount)
        let step = UInt64(2 * degree)
        var candidate = (UInt64(1) << UInt64(bits)) - step + 1
        var primes: [Modulus] = []
        while primes.count < count && candidate > step {
            if isPrime(candidate) { primes.append(Modulus(candidate)) }
            candidate -= step
        }
        return primes
    }

    /// A primitive 2n-th root of unity ψ mod q (ψ^n = −1), the smallest such generator power.
    /// - Precondition: q ≡ 1 (mod 2n).
    public func primitiveRoot(degree n: Int) -> UInt64 {
        precondition((value - 1) % UInt64(2 * n) == 0, "q ≢ 1 (mod 2n)")
        let exponent = (value - 1) / UInt64(2 * n)
        var x: UInt64 = 2
        while true {
            let candidate = power(x, exponent)
            if power(candidate, UInt64(n)) == value - 1 { return candidate }
            x += 1
        }
    }
}
