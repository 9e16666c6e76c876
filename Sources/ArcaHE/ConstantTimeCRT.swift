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
    }

    /// m from cp and cq (see the type's comment). - Precondition: cp ≡ 1 mod p, cq ≡ 1 mod q.
    func combine(_ cp: BigNumber, _ cq: BigNumber) -> BigNumber {
        let lp = Self.exactQuotient(Array(cp.paddedWords(2 * k).prefix(k)), inverse: pInverseWord)
        let lq = Self.exactQuotient(Array(cq.paddedWords(2 * k).prefix(k)), inverse: qInverseWord)
        let mp = Self.montgomeryMultiply(lp, hpMont, modulus: p, n0: pN0)
        let mq = Self.montgomeryMultiply(lq, hqMont, modulus: q, n0: qN0)
        // (mq − mp) mod q: mp < p < q, so one masked addition of q corrects a borrow.
        var (difference, borrow) = Self.subtract(mq, mp)
        let mask = 0 &- borrow
        var carry: UInt64 = 0
        for j in 0..<k {
            let (s1, c1) = difference[j].addingReportingOverflow(q[j] & mask)
            let (s2, c2) = s1.addingReportingOverflow(carry)
            difference[j] = s2
            carry = Self.bit(c1) | Self.bit(c2)
        }
        let t = Self.montgomeryMultiply(difference, pInverseMont, modulus: q, n0: qN0)
        // m = mp + p·t, 2k limbs.
        var m = Self.multiply(p, t)
        carry = 0
        for j in 0..<(2 * k) {
            let (s1, c1) = m[j].addingReportingOverflow(j < k ? mp[j] : 0)
            let (s2, c2) = s1.addingReportingOverflow(carry)
            m[j] = s2
            carry = Self.bit(c1) | Self.bit(c2)
        }
        return BigNumber(words: m)
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
