/// The negacyclic number-theoretic transform over Z_q[x]/(x^n + 1) for one RNS limb.
///
/// Forward: `degree` coefficients in natural order, each < q, in; the evaluations at the odd powers
/// of ψ in bit-reversed order, each < q, out. Inverse: bit-reversed in, natural out, scaled by n⁻¹.
/// Cooley–Tukey forward and Gentleman–Sande inverse butterflies with Harvey's lazy reduction (values
/// in [0, 4q) between stages) and Shoup multiplication by precomputed twiddles.
/// Harvey, "Faster arithmetic for number-theoretic transforms", J. Symb. Comp. 60 (2014), §3;
/// the loop structure of SEAL's `util/ntt.cpp` and HEXL's `ntt-internal.cpp`.
public struct NTTPlan: Sendable {
    public let degree: Int
    public let modulus: Modulus
    /// ψ^bitrev(i) for i in [0, n): the forward twiddle of group i at stage m is `roots[m + i]`.
    public let roots: [UInt64]
    public let rootsShoup: [UInt64]
    /// The inverses of `roots`, in the same positions.
    public let inverseRoots: [UInt64]
    public let inverseRootsShoup: [UInt64]
    public let inverseDegree: UInt64
    public let inverseDegreeShoup: UInt64

    /// - Precondition: degree a power of two in [2, 2^17]; q ≡ 1 (mod 2·degree).
    public init(degree: Int, modulus: Modulus) {
        precondition(
            degree >= 2 && degree <= 1 << 17 && degree & (degree - 1) == 0,
            "degree \(degree) must be a power of two in [2, 2^17]")
        precondition(
            (modulus.value - 1) % UInt64(2 * degree) == 0, "q = \(modulus.value) ≢ 1 (mod 2n) for n = \(degree)")
        self.degree = degree
        self.modulus = modulus
        let psi = modulus.primitiveRoot(degree: degree)
        let logN = degree.trailingZeroBitCount
        var powers = [UInt64](repeating: 1, count: degree)
        for i in 1..<degree { powers[i] = modulus.multiply(powers[i - 1], psi) }
        var roots = [UInt64](repeating: 0, count: degree)
        for i in 0..<degree { roots[i] = powers[bitReverse(i, bits: logN)] }
        self.roots = roots
        rootsShoup = roots.map(modulus.shoup)
        inverseRoots = roots.map(modulus.inverse)
        inverseRootsShoup = inverseRoots.map(modulus.shoup)
        inverseDegree = modulus.inverse(UInt64(degree))
        inverseDegreeShoup = modulus.shoup(inverseDegree)
    }

    /// Forward transform in place: natural order in, bit-reversed order out, values < q.
    public func forward(_ values: inout [UInt64]) {
        precondition(values.count == degree)
        values.withUnsafeMutableBufferPointer { forward($0) }
    }

    public func forward(_ a: UnsafeMutableBufferPointer<UInt64>) {
        let q = modulus.value, twoQ = 2 &* q
        var t = degree
        var m = 1
        roots.withUnsafeBufferPointer { w in
            rootsShoup.withUnsafeBufferPointer { ws in
                while m < degree {
                    t >>= 1
                    let base = a.baseAddress!
                    for i in 0..<m {
                        let root = w[m &+ i], rootShoup = ws[m &+ i]
                        var x = base + 2 &* i &* t, y = x + t
                        let end = y
                        while x < end {  // pointer walk: no index arithmetic in the hot loop
                            var u = x.pointee
                            u = min(u, u &- twoQ)  // [0, 4q) → [0, 2q), branch-free
                            let v = multiplyShoupLazy(y.pointee, root, rootShoup, q)
                            x.pointee = u &+ v
                            y.pointee = u &- v &+ twoQ
                            x += 1; y += 1
                        }
                    }
                    m <<= 1
                }
            }
        }
        for j in 0..<degree {
            var x = a[j]
            x = min(x, x &- twoQ)
            a[j] = min(x, x &- q)
        }
    }

    /// Inverse transform in place: bit-reversed order in, natural order out, scaled by n⁻¹, values < q.
    public func inverse(_ values: inout [UInt64]) {
        precondition(values.count == degree)
        values.withUnsafeMutableBufferPointer { inverse($0) }
    }

    public func inverse(_ a: UnsafeMutableBufferPointer<UInt64>) {
        let q = modulus.value, twoQ = 2 &* q
        var t = 1
        var m = degree >> 1
        inverseRoots.withUnsafeBufferPointer { w in
            inverseRootsShoup.withUnsafeBufferPointer { ws in
                while m >= 1 {
                    let base = a.baseAddress!
                    for i in 0..<m {
                        let root = w[m &+ i], rootShoup = ws[m &+ i]
                        var x = base + 2 &* i &* t, y = x + t
                        let end = y
                        while x < end {
                            let u = x.pointee, v = y.pointee  // [0, 2q)
                            let sum = u &+ v
                            x.pointee = min(sum, sum &- twoQ)
                            y.pointee = multiplyShoupLazy(u &- v &+ twoQ, root, rootShoup, q)
                            x += 1; y += 1
                        }
                    }
                    t <<= 1
                    m >>= 1
                }
            }
        }
        for j in 0..<degree {
            let x = multiplyShoupLazy(a[j], inverseDegree, inverseDegreeShoup, q)
            a[j] = min(x, x &- q)
        }
    }
}

/// The `bits`-bit reversal of i.
@inlinable public func bitReverse(_ i: Int, bits: Int) -> Int {
    bits == 0 ? 0 : Int(UInt(i).bitReversed >> UInt(UInt.bitWidth - bits))
}

extension UInt {
    @usableFromInline var bitReversed: UInt {
        var v = self, r: UInt = 0
        for _ in 0..<UInt.bitWidth { r = (r << 1) | (v & 1); v >>= 1 }
        return r
    }
}

/// The negacyclic product a·b mod (x^n + 1, q) by schoolbook multiplication: the reference the NTT
/// is checked against. O(n²).
public func negacyclicSchoolbook(_ a: [UInt64], _ b: [UInt64], modulus: Modulus) -> [UInt64] {
    let n = a.count
    var c = [UInt64](repeating: 0, count: n)
    for i in 0..<n where a[i] != 0 {
        for j in 0..<n {
            let p = modulus.multiply(a[i], b[j])
            let k = i + j
            if k < n { c[k] = modulus.add(c[k], p) } else { c[k - n] = modulus.subtract(c[k - n], p) }
        }
    }
    return c
}
