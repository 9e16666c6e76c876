import ArcaAccel
import ArcaCrypto

/// The faster obfuscator of Damgård, Jurik and Nielsen ("A generalization of Paillier's public-key
/// system with applications to electronic voting", IJIS 2010, §4.2), as HEU and IPCL offer it:
/// instead of r^n for r uniform in Z_n*, use hs^a mod n² with hs = h^n, h = −x² mod n for a random x,
/// and a uniform in [0, 2^ℓ), ℓ = ⌈|n|/2⌉ (1024 bits for a 2048-bit n).
///
/// Security: hs^a = (h^a)^n is an n-th residue, so the ciphertext is a valid Paillier ciphertext that
/// python-paillier decrypts as any other; semantic security rests on the DCR assumption plus the
/// assumption that h^a for ℓ-bit a is indistinguishable from a random element of ⟨h⟩ (DJN §4.2). With
/// ℓ = ⌈|n|/2⌉ the best known attack on the short exponent costs about 2^(ℓ/2) (Pollard's λ), i.e.
/// 2^512 for Paillier-2048 — far above the 112-bit level of the modulus itself.
///
/// Speed: with the fixed base known, hs^a is ⌈ℓ/4⌉ multiplications from a precomputed table
/// (``FixedBaseExponentiation``), by CRT mod p² and q² when the private key is held.
public final class DJNObfuscator: Sendable {
    public let key: PaillierPublicKey
    /// hs = h^n mod n².
    public let hs: BigNumber
    /// h = −x² mod n, when this obfuscator drew it (nil when made from a given hs): hs^a = (h^a)^n, so
    /// h^a mod n is the r of a ciphertext, the witness of its ``ZeroOneProof``.
    public let h: BigNumber?
    /// ℓ = ⌈|n|/2⌉.
    public let exponentBits: Int
    let table: FixedBaseExponentiation?
    let crtTables: (p: FixedBaseExponentiation, q: FixedBaseExponentiation)?
    let privateKey: PaillierPrivateKey?

    /// Draws x and builds the tables (mod p² and q² when `privateKey` is given, else mod n²).
    /// - Parameter hs: a given base (tests); default h^n for h = −x² mod n, x random.
    public init(key: PaillierPublicKey, privateKey: PaillierPrivateKey? = nil, hs given: BigNumber? = nil) throws {
        self.key = key
        self.privateKey = privateKey
        exponentBits = (key.bits + 1) / 2
        if let given {
            hs = given
            h = nil
        } else {
            let x = try BigNumber.randomUnit(modulo: key.n)
            let h = key.n - BigNumber.modMul(x, x, key.n)
            self.h = h
            hs = try BigNumber.modExpConstantTime(h, key.n, key.nSquare)
        }
        if let privateKey {
            crtTables = (
                FixedBaseExponentiation(
                    base: hs % privateKey.pSquare, modulus: privateKey.pSquare, exponentBits: exponentBits),
                FixedBaseExponentiation(
                    base: hs % privateKey.qSquare, modulus: privateKey.qSquare, exponentBits: exponentBits)
            )
            table = nil
        } else {
            table = FixedBaseExponentiation(base: hs, modulus: key.nSquare, exponentBits: exponentBits)
            crtTables = nil
        }
    }

    /// `count` exponents a uniform in [0, 2^ℓ), from OpenSSL's generator.
    public func exponents(_ count: Int) throws -> [BigNumber] {
        let bytes = (exponentBits + 7) / 8
        return try (0..<count).map { _ in
            var random = try SecureRandom.bytes(bytes)
            random[0] &= UInt8(truncatingIfNeeded: (1 << (exponentBits - 8 * (bytes - 1))) - 1)
            return BigNumber(bigEndian: random)
        }
    }

    /// hs^a_i mod n² by the table, on the CPU executors.
    func powers(_ a: [BigNumber], cpu: CPUDevice) async throws -> [BigNumber] {
        if let crtTables, let privateKey {
            return try await cpu.map(a.count) {
                privateKey.combineSquares(crtTables.p.power(a[$0]), crtTables.q.power(a[$0]))
            }
        }
        let table = table!
        return try await cpu.map(a.count) { table.power(a[$0]) }
    }
}
