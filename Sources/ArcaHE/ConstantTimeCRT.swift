import ArcaCrypto

/// The CRT recombination of Paillier decryption (python-paillier's `raw_decrypt` after its two
/// exponentiations) in fixed-width arithmetic that does not branch on, or index memory by, the
/// secret values: p, q, the plaintext and the intermediate residues. Time depends only on the
/// number of 64-bit limbs of the key's primes.
///
/// Given cp = c^(p−1) mod p² and cq = c^(q−1) mod q² (each from `BN_mod_exp_mont_consttime` or the
/// device's fixed-window kernel):
/// - L_p = (cp − 1)/p, an exact division, as (cp − 1)·p⁻¹ mod 2^(64k) (Jebelean's exact division: the
///   quotient is below p < 2^(64k), so its low limbs are all of it);
/// - mp = L_p·hp mod p and mq = L_q·hq mod q by Montgomery multiplication (CIOS, Koç–Acar–Kaliski
///   1996, with the final subtraction done by a mask), hp and hq kept in Montgomery form;
/// - m = mp + p·((mq − mp)·p⁻¹ mod q) (Garner), the difference reduced by a masked addition of q.
///
/// Shapes: `k` limbs of 64 bits, least significant first, for p, q and every residue; cp and cq are
/// read as 2k limbs (`BN_bn2lebinpad`, fixed width).
struct ConstantTimeCRT: Sendable {
    let k: Int
    let p: [UInt64], q: [UInt64]
    let pN0: UInt64, qN0: UInt64
    /// p⁻¹ and q⁻¹ mod 2^(64k).
    let pInverseWord: [UInt64], qInverseWord: [UInt64]
    /// hp·R mod p, hq·R mod q and (p⁻¹ mod q)·R mod q, with R = 2^(64k).
    let hpMont: [UInt64], hqMont: [UInt64], pInverseMont: [UInt64]
    /// p² and q² in 2k limbs, q²'s Montgomery constant and (p²)⁻¹·R₂ mod q² with R₂ = 2^(128k): the
    /// Garner step of CRT encryption (r^n mod n² from r^n mod p² and mod q²).
    let pSquare: [UInt64], qSquare: [UInt64]
    let qSquareN0: UInt64
    let pSquareInverseMont: [UInt64]

    /// - Precondition: p < q, both odd; hp < p, hq < q, pInverse = p⁻¹ mod q.
    init(p: BigNumber, q: BigNumber, hp: BigNumber, hq: BigNumber, pInverse: BigNumber) {
        let k = (max(p.bitCount, q.bitCount) + 63) / 64
        self.k = k
        self.p = p.words(count: k)
        self.q = q.words(count: k)
        pN0 = BigNumber.montgomeryN0(p)
        qN0 = BigNumber.montgomeryN0(q)
        let word = BigNumber(1).shiftedLeft(64 * k)
        pInverseWord = BigNumber.modInverse(p, word)!.words(count: k)
        qInverseWord = BigNumber.modInverse(q, word)!.words(count: k)
        hpMont = BigNumber.modMul(hp, word % p, p).words(count: k)
        hqMont = BigNumber.modMul(hq, word % q, q).words(count: k)
        pInverseMont = BigNumber.modMul(pInverse, word % q, q).words(count: k)
        let (p2, q2) = (p * p, q * q)
        pSquare = p2.words(count: 2 * k)
        qSquare = q2.words(count: 2 * k)
        qSquareN0 = BigNumber.montgomeryN0(q2)
        let word2 = BigNumber(1).shiftedLeft(128 * k)
        pSquareInverseMont = BigNumber.modMul(BigNumber.modInverse(p2, q2)!, word2 % q2, q2).words(count: 2 * k)
    }

    /// m from cp and cq (see the type's comment). - Precondition: cp ≡ 1 mod p, cq ≡ 1 mod q.
    func combine(_ cp: BigNumber, _ cq: BigNumber) -> BigNumber {
        let lp = Self.exactQuotient(Array(cp.paddedWords(2 * k).prefix(k)), inverse: pInverseWord)
        let lq = Self.exactQuotient(Array(cq.paddedWords(2 * k).prefix(k)), inverse: qInverseWord)
        let mp = Self.montgomeryMultiply(lp, hpMont, modulus: p, n0: pN0)
        let mq = Self.montgomeryMultiply(lq, hqMont, modulus: q, n0: qN0)
        // m = mp + p·((mq − mp)·p⁻¹ mod q); mp < p < q.
        let difference = Self.subtract(mq, mp, modulo: q)
        let t = Self.montgomeryMultiply(difference, pInverseMont, modulus: q, n0: qN0)
        return BigNumber(words: Self.add(Self.multiply(p, t), mp))
    }

    /// x mod n² from xp = x mod p² and xq = x mod q² (Garner), as `combine`: fixed width, no branch
    /// on the values. - Precondition: xp < p², xq < q².
    func combineSquares(_ xp: BigNumber, _ xq: BigNumber) -> BigNumber {
        let low = xp.paddedWords(2 * k)
        let difference = Self.subtract(xq.paddedWords(2 * k), low, modulo: qSquare)  // xp < p² < q²
        let t = Self.montgomeryMultiply(difference, pSquareInverseMont, modulus: qSquare, n0: qSquareN0)
        return BigNumber(words: Self.add(Self.multiply(pSquare, t), low))
    }

    /// (a − b) mod m for a < m and b < m (equal widths): one masked addition of m corrects a borrow.
    static func subtract(_ a: [UInt64], _ b: [UInt64], modulo m: [UInt64]) -> [UInt64] {
        var (difference, borrow) = subtract(a, b)
        let mask = 0 &- borrow
        var carry: UInt64 = 0
        for j in 0..<m.count {
            let (s1, c1) = difference[j].addingReportingOverflow(m[j] & mask)
            let (s2, c2) = s1.addingReportingOverflow(carry)
            difference[j] = s2
            carry = bit(c1) | bit(c2)
        }
        return difference
    }

    /// a + b for b no wider than a, in a's width (the caller knows the sum fits).
    static func add(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var sum = a
        var carry: UInt64 = 0
        for j in 0..<a.count {
            let (s1, c1) = sum[j].addingReportingOverflow(j < b.count ? b[j] : 0)
            let (s2, c2) = s1.addingReportingOverflow(carry)
            sum[j] = s2
            carry = bit(c1) | bit(c2)
        }
        return sum
    }

    @inline(__always) static func bit(_ flag: Bool) -> UInt64 { UInt64(unsafeBitCast(flag, to: UInt8.self)) }

    /// (x − 1)·inverse mod 2^(64k): the quotient of x − 1 by the divisor whose inverse is given,
    /// when it divides exactly. `x`, `inverse`: k limbs (the low limbs of x).
    static func exactQuotient(_ x: [UInt64], inverse: [UInt64]) -> [UInt64] {
        var minusOne = x
        var borrow: UInt64 = 1
        for j in 0..<x.count {
            let (d, b) = minusOne[j].subtractingReportingOverflow(borrow)
            minusOne[j] = d
            borrow = bit(b)
        }
        return Array(multiply(minusOne, inverse).prefix(x.count))
    }

    /// a − b over equal widths, and the borrow out (1 when a < b).
    static func subtract(_ a: [UInt64], _ b: [UInt64]) -> ([UInt64], UInt64) {
        var result = a
        var borrow: UInt64 = 0
        for j in 0..<a.count {
            let (d1, b1) = a[j].subtractingReportingOverflow(b[j])
            let (d2, b2) = d1.subtractingReportingOverflow(borrow)
            result[j] = d2
            borrow = bit(b1) | bit(b2)
        }
        return (result, borrow)
    }

    /// The full product of two k-limb numbers, 2k limbs (schoolbook).
    static func multiply(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var product = [UInt64](repeating: 0, count: a.count + b.count)
        for i in 0..<b.count {
            var carry: UInt64 = 0
            for j in 0..<a.count {
                let (high, low) = a[j].multipliedFullWidth(by: b[i])
                let (s1, c1) = product[i + j].addingReportingOverflow(low)
                let (s2, c2) = s1.addingReportingOverflow(carry)
                product[i + j] = s2
                carry = high &+ bit(c1) &+ bit(c2)  // high ≤ 2^64 − 2: no overflow
            }
            product[i + a.count] = carry
        }
        return product
    }

    /// a·b·R⁻¹ mod m with R = 2^(64k), for a, b < m, m odd (CIOS), the result below m; the final
    /// subtraction is chosen by a mask, not a branch.
    static func montgomeryMultiply(_ a: [UInt64], _ b: [UInt64], modulus m: [UInt64], n0: UInt64) -> [UInt64] {
        let k = m.count
        var t = [UInt64](repeating: 0, count: k + 2)
        for i in 0..<k {
            var carry: UInt64 = 0
            for j in 0..<k {
                let (high, low) = a[j].multipliedFullWidth(by: b[i])
                let (s1, c1) = t[j].addingReportingOverflow(low)
                let (s2, c2) = s1.addingReportingOverflow(carry)
                t[j] = s2
                carry = high &+ bit(c1) &+ bit(c2)
            }
            var (top, overflow) = t[k].addingReportingOverflow(carry)
            t[k] = top
            t[k + 1] = bit(overflow)
            let u = t[0] &* n0
            carry = 0
            for j in 0..<k {
                let (high, low) = u.multipliedFullWidth(by: m[j])
                let (s1, c1) = t[j].addingReportingOverflow(low)
                let (s2, c2) = s1.addingReportingOverflow(carry)
                t[j] = s2
                carry = high &+ bit(c1) &+ bit(c2)
            }
            (top, overflow) = t[k].addingReportingOverflow(carry)
            t[k] = top
            t[k + 1] &+= bit(overflow)
            for j in 0...k { t[j] = t[j + 1] }
            t[k + 1] = 0
        }
        // t < 2m: t − m when t ≥ m.
        let (reduced, borrow) = subtract(Array(t.prefix(k)), m)
        let (_, below) = t[k].subtractingReportingOverflow(borrow)
        let keep = 0 &- bit(below)  // all ones when t < m
        return (0..<k).map { (t[$0] & keep) | (reduced[$0] & ~keep) }
    }
}
