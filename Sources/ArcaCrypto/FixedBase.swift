import COpenSSL

/// base^e mod m for one fixed base and many exponents of at most `exponentBits` bits, by a table of
/// base^(d·2^(w·i)) (Brickell–Gordon–McCurley–Wilson fixed-base windowing): ⌈bits/w⌉ Montgomery
/// products per exponent and no squarings. The table entry of each window is read by a masked scan
/// over all 2^w entries, so memory access does not depend on the exponent (a secret).
///
/// Table: ⌈bits/w⌉ · 2^w residues in Montgomery form, e.g. 256 · 16 · 512 B = 2 MiB for a 4096-bit
/// modulus, 1024-bit exponents and w = 4. Little-endian hosts only (x86-64, AArch64).
public final class FixedBaseExponentiation: @unchecked Sendable {
    public let modulus: BigNumber
    public let exponentBits: Int
    public let window: Int
    let limbs: Int
    let windows: Int
    /// windows × 2^window × limbs words.
    let table: [UInt64]
    let one: [UInt64]
    let mont: OpaquePointer

    /// - Precondition: odd modulus; 1 ≤ window ≤ 8.
    public init(base: BigNumber, modulus: BigNumber, exponentBits: Int, window: Int = 4) {
        precondition(modulus.isOdd && window >= 1 && window <= 8)
        self.modulus = modulus
        self.exponentBits = exponentBits
        self.window = window
        let limbs = (modulus.bitCount + 63) / 64
        self.limbs = limbs
        windows = (exponentBits + window - 1) / window
        let context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        let mont = BN_MONT_CTX_new()!
        BN_MONT_CTX_set(mont, modulus.bn, context)
        self.mont = mont
        func words(_ bn: OpaquePointer) -> [UInt64] {
            var words = [UInt64](repeating: 0, count: limbs)
            _ = words.withUnsafeMutableBytes { BN_bn2lebinpad(bn, $0.baseAddress, Int32($0.count)) }
            return words
        }
        let entry = BN_new()!, power = BN_new()!, oneMont = BN_new()!
        defer { BN_free(entry); BN_free(power); BN_free(oneMont) }
        BN_set_word(oneMont, 1)
        BN_to_montgomery(oneMont, oneMont, mont, context)
        one = words(oneMont)
        let reduced = base % modulus
        BN_to_montgomery(power, reduced.bn, mont, context)  // base^(2^(w·i)), Montgomery form
        var table: [UInt64] = []
        table.reserveCapacity(windows << window * limbs)
        for _ in 0..<((exponentBits + window - 1) / window) {
            BN_copy(entry, oneMont)
            for _ in 0..<(1 << window) {
                table += words(entry)
                BN_mod_mul_montgomery(entry, entry, power, mont, context)
            }
            for _ in 0..<window { BN_mod_mul_montgomery(power, power, power, mont, context) }
        }
        self.table = table
    }

    deinit { BN_MONT_CTX_free(mont) }

    /// base^exponent mod modulus.
    /// - Precondition: exponent < 2^exponentBits.
    public func power(_ exponent: BigNumber) -> BigNumber {
        precondition(exponent.bitCount <= exponentBits, "exponent wider than the table")
        let bits = exponent.words(count: (exponentBits + 63) / 64)
        let context = BN_CTX_new()
        defer { BN_CTX_free(context) }
        let accumulator = BN_new()!, selected = BN_new()!
        defer { BN_free(selected) }
        one.withUnsafeBytes { _ = BN_lebin2bn($0.baseAddress, Int32($0.count), accumulator) }
        var chosen = [UInt64](repeating: 0, count: limbs)
        let entries = 1 << window
        table.withUnsafeBufferPointer { table in
            for i in 0..<windows {
                // The window's digit, then a scan of every entry with an all-ones mask on the match.
                var digit: UInt64 = 0
                for b in 0..<window {
                    let bit = i * window + b
                    if bit < exponentBits { digit |= ((bits[bit / 64] >> UInt64(bit % 64)) & 1) << UInt64(b) }
                }
                for l in 0..<limbs { chosen[l] = 0 }
                let base = i * entries * limbs
                for d in 0..<entries {
                    let difference = UInt64(d) ^ digit
                    let mask = ((difference | (0 &- difference)) >> 63) &- 1  // all ones iff d == digit
                    let row = base + d * limbs
                    for l in 0..<limbs { chosen[l] |= table[row + l] & mask }
                }
                chosen.withUnsafeBytes { _ = BN_lebin2bn($0.baseAddress, Int32($0.count), selected) }
                BN_mod_mul_montgomery(accumulator, accumulator, selected, mont, context)
            }
        }
        BN_from_montgomery(accumulator, accumulator, mont, context)
        return BigNumber(owning: accumulator)
    }
}
