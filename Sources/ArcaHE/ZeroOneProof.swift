import ArcaAccel
import ArcaCrypto

/// A non-interactive zero-knowledge proof that a Paillier ciphertext c (g = n + 1) encrypts 0 or 1.
///
/// Construction: the Σ-protocol for "u is an n-th power mod n²" (Damgård–Jurik, "A Generalisation,
/// a Simplification and Some Applications of Paillier's Probabilistic Public-Key System", PKC 2001,
/// §5: the proof that a ciphertext encrypts one of a set of values; Baudron, Fouque, Pointcheval,
/// Poupard and Stern, "Practical Multi-Candidate Election System", PODC 2001, §3), for u₀ = c and
/// u₁ = c·g⁻¹, joined by the OR-composition of Cramer, Damgård and Schoenmakers ("Proofs of Partial
/// Knowledge and Simplified Design of Witness Hiding Protocols", CRYPTO 1994), made non-interactive
/// with Fiat–Shamir: the challenge is a 256-bit digest (SHA-256 or SM3) of a domain tag, the
/// caller's context (job and session), n, the row index, c and both commitments.
///
/// For plaintext m with c = g^m·r^n, the prover picks ρ, z₁₋ₘ ∈ Z_n* and e₁₋ₘ ∈ [0, 2^256), sets
/// aₘ = ρ^n, a₁₋ₘ = z₁₋ₘ^n·u₁₋ₘ^(−e₁₋ₘ) mod n², e = H(…, a₀, a₁),
/// eₘ = e − e₁₋ₘ mod 2^256 and
/// zₘ = ρ·r^(eₘ) mod n. The verifier recomputes aⱼ = zⱼ^n·uⱼ^(−eⱼ) mod n² and checks
/// e₀ + e₁ ≡ H(…, a₀, a₁) mod 2^256. Only (e₀, e₁, z₀, z₁) travel: 64 + 2·|n|/8 bytes.
///
/// Soundness: a ciphertext of any other plaintext passes with probability about 2^−256 per hash
/// query, provided the smallest prime factor of n exceeds 2^256 and gcd(n, φ(n)) = 1 — which the
/// verifier cannot check from n alone (it rejects factors below 2^16 and squares); a modulus with a
/// factor p < 2^256 lowers it to about 1/p. Zero knowledge holds in the random-oracle model.
public struct ZeroOneProof: Sendable, Equatable {
    /// The two challenges, each in [0, 2^256).
    public var e0: BigNumber, e1: BigNumber
    /// The two responses, each in [1, n).
    public var z0: BigNumber, z1: BigNumber

    public init(e0: BigNumber, e1: BigNumber, z0: BigNumber, z1: BigNumber) {
        self.e0 = e0
        self.e1 = e1
        self.z0 = z0
        self.z1 = z1
    }

    /// Bits of each challenge (the digest's length).
    public static let challengeBits = 256
    static let challengeBytes = challengeBits / 8
    static let challengeModulus = BigNumber(1).shiftedLeft(challengeBits)
    /// The Fiat–Shamir domain tag, first in every hashed message.
    static let domain = Array("arca.paillier.zero-one-proof.v1".utf8)

    /// Bytes of one proof on the wire under `key`: 2·32 + 2·⌈|n|/8⌉.
    public static func width(key: PaillierPublicKey) -> Int { 2 * challengeBytes + 2 * ((key.bits + 7) / 8) }

    /// The proof as fixed-width big-endian fields e₀ ‖ e₁ ‖ z₀ ‖ z₁ (``width(key:)`` bytes).
    /// - Precondition: the fields are in range (a proof that ``PaillierEngine/proveZeroOne`` made).
    public func bytes(key: PaillierPublicKey) -> [UInt8] {
        let nBytes = (key.bits + 7) / 8
        return e0.bigEndianBytes(count: Self.challengeBytes) + e1.bigEndianBytes(count: Self.challengeBytes)
            + z0.bigEndianBytes(count: nBytes) + z1.bigEndianBytes(count: nBytes)
    }

    /// Reads ``bytes(key:)``; the values' ranges are checked by verification, not here.
    /// - Throws: ``HEError`` naming `item` when `bytes` is not ``width(key:)`` long.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes, key: PaillierPublicKey, item: String) throws {
        let all = Array(bytes)
        let nBytes = (key.bits + 7) / 8
        let c = Self.challengeBytes
        guard all.count == Self.width(key: key) else {
            throw HEError(
                item, "a 0/1 proof under a \(key.bits)-bit key is \(Self.width(key: key)) bytes, got \(all.count)")
        }
        self.init(
            e0: BigNumber(bigEndian: Array(all[0..<c])), e1: BigNumber(bigEndian: Array(all[c..<(2 * c)])),
            z0: BigNumber(bigEndian: Array(all[(2 * c)..<(2 * c + nBytes)])),
            z1: BigNumber(bigEndian: Array(all[(2 * c + nBytes)...])))
    }

    /// What a proof is bound to besides n and c: the context string (job, session, peers) and the
    /// digest of the Fiat–Shamir challenge.
    public struct Binding: Sendable, Equatable {
        public var context: String
        public var digest: Digest
        public init(context: String, digest: Digest = .sha256) {
            self.context = context
            self.digest = digest
        }

        /// H(domain ‖ len ‖ context ‖ n ‖ index ‖ c ‖ a₀ ‖ a₁) as a number in [0, 2^256);
        /// fixed-width fields (n in ⌈|n|/8⌉ bytes, c and aⱼ in ⌈|n²|/8⌉, the index and the
        /// context's length in 8 bytes each).
        func challenge(
            key: PaillierPublicKey, index: Int, c: BigNumber, a0: BigNumber, a1: BigNumber
        ) throws -> BigNumber {
            let nBytes = (key.bits + 7) / 8
            let squareBytes = (key.nSquare.bitCount + 7) / 8
            let contextBytes = Array(context.utf8)
            var message = ZeroOneProof.domain
            message.reserveCapacity(message.count + 16 + contextBytes.count + nBytes + 3 * squareBytes)
            message += Self.word(UInt64(contextBytes.count)) + contextBytes + key.n.bigEndianBytes(count: nBytes)
            message += Self.word(UInt64(index)) + c.bigEndianBytes(count: squareBytes)
            message += a0.bigEndianBytes(count: squareBytes) + a1.bigEndianBytes(count: squareBytes)
            let hash = try digest.hash(message)
            precondition(hash.count == ZeroOneProof.challengeBytes, "\(digest) gives \(hash.count) bytes")
            return BigNumber(bigEndian: hash)
        }

        static func word(_ value: UInt64) -> [UInt8] {
            (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        }
    }
}

/// Why a 0/1 proof was rejected: the index of the first bad item and a fixed reason code.
public struct ZeroOneProofError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The item's index as the caller numbers it (``PaillierEngine/verifyZeroOne`` adds `firstIndex`).
    public var index: Int
    public var reason: Reason
    public struct Reason: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The ciphertext is zero, ≥ n², or shares a factor with n.
        public static let ciphertext = Reason(rawValue: "ciphertext not a unit below n²")
        /// A challenge ≥ 2^256, or a response zero, ≥ n or sharing a factor with n.
        public static let range = Reason(rawValue: "proof component out of range")
        /// e₀ + e₁ differs from the Fiat–Shamir challenge: a forged proof, a wrong split or another context.
        public static let challenge = Reason(rawValue: "challenges do not sum to the Fiat–Shamir challenge")
        public var description: String { rawValue }
    }
    public init(index: Int, reason: Reason) {
        self.index = index
        self.reason = reason
    }
    public var description: String { "0/1 proof of item \(index) rejected: \(reason)" }
}

extension PaillierEngine {
    /// Encrypts each bit (Enc(1) for true, Enc(0) for false, exponent 0) and proves each ciphertext
    /// encrypts 0 or 1 (``ZeroOneProof``). The ciphertexts equal those of ``encrypt(_:djn:exponents:report:)``
    /// (with `djn`) or ``encrypt(_:key:privateKey:randomness:report:)`` for the same randomness.
    /// - Parameters:
    ///   - djn: the DJN obfuscator to encrypt with (its `h` must be known), or nil for r^n.
    ///   - randomness: standard obfuscation only: r_i ∈ [1, n) (default fresh); DJN: the exponents a_i.
    ///   - firstIndex: the index of `bits[0]` in the proofs' binding (rows of a larger set).
    /// - Returns: one ciphertext and one proof per bit, in order.
    /// - Throws: ``HEError`` for a key under 1024 bits or a DJN obfuscator without h; registry errors.
    public func encryptZeroOne(
        _ bits: [Bool], key: PaillierPublicKey, privateKey: PaillierPrivateKey?, djn: DJNObfuscator?,
        binding: ZeroOneProof.Binding, firstIndex: Int = 0, randomness: [BigNumber]? = nil,
        report: inout Report
    ) async throws -> (ciphertexts: [Ciphertext], proofs: [ZeroOneProof]) {
        let one = try EncodedNumber.encode(PlainNumber(1), key: key)
        let zero = try EncodedNumber.encode(PlainNumber(0), key: key)
        let encoded = bits.map { $0 ? one : zero }
        let ciphertexts: [Ciphertext]
        let witnesses: [BigNumber]
        if let djn {
            guard let h = djn.h else {
                throw HEError("djn", "the obfuscator's h is unknown (made from hs alone): cannot prove")
            }
            let a = try randomness ?? djn.exponents(bits.count)
            ciphertexts = try await encrypt(encoded, djn: djn, exponents: a, report: &report)
            // hs^a = (h^a)^n mod n², so r = h^a mod n is the witness.
            witnesses = try await modExp(Array(repeating: h, count: a.count), a, key.n, &report)
        } else {
            let r = try randomness ?? Self.randomness(count: bits.count, key: key)
            ciphertexts = try await encrypt(encoded, key: key, privateKey: privateKey, randomness: r, report: &report)
            witnesses = r
        }
        let proofs = try await proveZeroOne(
            ciphertexts.map(\.value), bits: bits, witnesses: witnesses, key: key, privateKey: privateKey,
            binding: binding, firstIndex: firstIndex, report: &report)
        return (ciphertexts, proofs)
    }

    /// Proves, for each i, that `ciphertexts[i]` = (1 + bits[i]·n)·witnesses[i]^n mod n² encrypts 0 or 1
    /// (``ZeroOneProof``). Three batches go to the registry: ρ^n and z^n (2·count, by CRT when the
    /// private key is held), u^(−e) mod n² (count, 256-bit exponents) and r^e mod n (count).
    /// - Parameters:
    ///   - ciphertexts: values in [1, n²), units; `witnesses`: r_i ∈ [1, n) with c_i = g^(bits[i])·r_i^n.
    ///   - firstIndex: the index of item 0 in the binding.
    /// - Throws: ``HEError`` for mismatched counts, a key under 1024 bits, a ciphertext that is not a
    ///   unit; ``CryptoError`` when OpenSSL's generator fails; registry errors. A wrong witness is not
    ///   detected here: its proof fails verification.
    public func proveZeroOne(
        _ ciphertexts: [BigNumber], bits: [Bool], witnesses: [BigNumber], key: PaillierPublicKey,
        privateKey: PaillierPrivateKey?, binding: ZeroOneProof.Binding, firstIndex: Int = 0,
        report: inout Report
    ) async throws -> [ZeroOneProof] {
        let count = ciphertexts.count
        guard bits.count == count, witnesses.count == count else {
            throw HEError("input", "\(count) ciphertexts, \(bits.count) bits and \(witnesses.count) witnesses")
        }
        try Self.checkProofKey(key)
        guard count > 0 else { return [] }
        try key.validate(ciphertexts: ciphertexts, item: "ciphertexts")
        // ρ (the real branch's commitment), z and e of the simulated branch, from OpenSSL's generator.
        var drawn: [BigNumber] = []
        repeat {
            drawn = try (0..<(2 * count)).map { _ in try Self.nonZero(below: key.n) }
        } while !Self.allUnits(drawn, modulo: key.n)  // a non-unit would factor n: about 2^-1000
        let rho = Array(drawn[..<count])
        let simulatedZ = Array(drawn[count...])
        let simulatedE = try (0..<count).map { _ in try BigNumber.random(bits: ZeroOneProof.challengeBits) }
        let powers = try await obfuscators(drawn, key: key, privateKey: privateKey, report: &report)
        let inverses = try await Self.inverses(ciphertexts, key: key, cpu: cpu)
        // u_j⁻¹ = c⁻¹·(1 + n)^j: the simulated branch j = 1 − m.
        let onePlusN = key.n + BigNumber(1)
        let simulatedBases = try await cpu.map(count) {
            bits[$0] ? inverses[$0] : BigNumber.modMul(inverses[$0], onePlusN, key.nSquare)
        }
        let simulatedTerms = try await modExp(simulatedBases, simulatedE, key.nSquare, &report)
        let realE = try await cpu.map(count) { i -> BigNumber in
            let real = powers[i]
            let simulated = BigNumber.modMul(powers[count + i], simulatedTerms[i], key.nSquare)
            let (a0, a1) = bits[i] ? (simulated, real) : (real, simulated)
            let e = try binding.challenge(key: key, index: firstIndex + i, c: ciphertexts[i], a0: a0, a1: a1)
            return (e + ZeroOneProof.challengeModulus - simulatedE[i]) % ZeroOneProof.challengeModulus
        }
        let witnessTerms = try await modExp(witnesses.map { $0 % key.n }, realE, key.n, &report)
        report.multiplications += 4 * count
        return try await cpu.map(count) { i in
            let realZ = BigNumber.modMul(rho[i], witnessTerms[i], key.n)
            return bits[i]
                ? ZeroOneProof(e0: simulatedE[i], e1: realE[i], z0: simulatedZ[i], z1: realZ)
                : ZeroOneProof(e0: realE[i], e1: simulatedE[i], z0: realZ, z1: simulatedZ[i])
        }
    }

    /// Verifies every proof of a batch: range checks on the CPU, then two batches on the registry —
    /// z^n mod n² (2·count, one shared exponent) and u^(−e) mod n² (2·count, 256-bit exponents) — then
    /// the Fiat–Shamir challenges on the CPU executors. The answer is the same on every device.
    /// - Parameters:
    ///   - ciphertexts: the values as received (checked here: zero, ≥ n² or not a unit is rejected).
    ///   - firstIndex: the index of item 0 in the binding and in the error.
    /// - Throws: ``ZeroOneProofError`` with the lowest failing index (a range failure is found
    ///   before any exponentiation); ``HEError`` for mismatched counts or a key under 1024 bits.
    public func verifyZeroOne(
        _ ciphertexts: [BigNumber], proofs: [ZeroOneProof], key: PaillierPublicKey,
        binding: ZeroOneProof.Binding, firstIndex: Int = 0, report: inout Report
    ) async throws {
        let count = ciphertexts.count
        guard proofs.count == count else { throw HEError("input", "\(count) ciphertexts and \(proofs.count) proofs") }
        try Self.checkProofKey(key)
        guard count > 0 else { return }
        let one = BigNumber(1)
        let bound = ZeroOneProof.challengeModulus
        for (i, (c, proof)) in zip(ciphertexts, proofs).enumerated() {
            guard !c.isZero, c < key.nSquare else {
                throw ZeroOneProofError(index: firstIndex + i, reason: .ciphertext)
            }
            guard proof.e0 < bound, proof.e1 < bound, !proof.z0.isZero, !proof.z1.isZero, proof.z0 < key.n,
                proof.z1 < key.n
            else {
                throw ZeroOneProofError(index: firstIndex + i, reason: .range)
            }
        }
        // Units: one gcd for the batch; only when it fails, one per item to name the first.
        if !Self.allUnits(ciphertexts + proofs.map(\.z0) + proofs.map(\.z1), modulo: key.n) {
            for (i, (c, proof)) in zip(ciphertexts, proofs).enumerated() {
                guard BigNumber.gcd(c, key.n) == one else {
                    throw ZeroOneProofError(index: firstIndex + i, reason: .ciphertext)
                }
                guard BigNumber.gcd(proof.z0, key.n) == one, BigNumber.gcd(proof.z1, key.n) == one else {
                    throw ZeroOneProofError(index: firstIndex + i, reason: .range)
                }
            }
        }
        let zPowers = try await modExp(proofs.map(\.z0) + proofs.map(\.z1), [key.n], key.nSquare, &report)
        let inverses = try await Self.inverses(ciphertexts, key: key, cpu: cpu)
        let onePlusN = key.n + one
        let inverse1 = try await cpu.map(count) { BigNumber.modMul(inverses[$0], onePlusN, key.nSquare) }
        let terms = try await modExp(inverses + inverse1, proofs.map(\.e0) + proofs.map(\.e1), key.nSquare, &report)
        let passed = try await cpu.map(count) { i -> Bool in
            let a0 = BigNumber.modMul(zPowers[i], terms[i], key.nSquare)
            let a1 = BigNumber.modMul(zPowers[count + i], terms[count + i], key.nSquare)
            let e = try binding.challenge(key: key, index: firstIndex + i, c: ciphertexts[i], a0: a0, a1: a1)
            return (proofs[i].e0 + proofs[i].e1) % bound == e
        }
        report.multiplications += 5 * count
        if let failed = passed.firstIndex(of: false) {
            throw ZeroOneProofError(index: firstIndex + failed, reason: .challenge)
        }
    }

    /// 0/1 proofs need a 256-bit challenge below the smallest prime factor: n of 1024 bits or more.
    static func checkProofKey(_ key: PaillierPublicKey) throws {
        guard key.bits >= 1024 else {
            throw HEError("key", "0/1 proofs need n of at least 1024 bits (got \(key.bits))")
        }
    }

    static func nonZero(below bound: BigNumber) throws -> BigNumber {
        while true {
            let value = try BigNumber.random(below: bound)
            if !value.isZero { return value }
        }
    }

    /// Whether every value is a unit mod n: one gcd of their product.
    static func allUnits(_ values: [BigNumber], modulo n: BigNumber) -> Bool {
        let product = values.reduce(BigNumber(1)) { BigNumber.modMul($0, $1 % n, n) }
        return BigNumber.gcd(product, n) == BigNumber(1)
    }

    /// c_i⁻¹ mod n² for units c_i, by Montgomery's trick per chunk (3 multiplications per item and one
    /// `BN_mod_inverse` per chunk) on the CPU executors.
    /// - Throws: ``HEError`` when a value is not a unit.
    static func inverses(_ values: [BigNumber], key: PaillierPublicKey, cpu: CPUDevice) async throws -> [BigNumber] {
        let m = key.nSquare
        let chunks = max(1, min(values.count / 32, 64))
        let pieces = try await cpu.map(chunks) { chunk -> [BigNumber] in
            let range = (values.count * chunk / chunks)..<(values.count * (chunk + 1) / chunks)
            var prefix: [BigNumber] = []
            prefix.reserveCapacity(range.count)
            for i in range { prefix.append(prefix.last.map { BigNumber.modMul($0, values[i], m) } ?? values[i] % m) }
            guard var running = prefix.last.flatMap({ BigNumber.modInverse($0, m) }) else {
                throw HEError("ciphertexts", "a value of items \(range) is not a unit mod n²")
            }
            var result = [BigNumber](repeating: BigNumber(1), count: range.count)
            for offset in stride(from: range.count - 1, through: 0, by: -1) {
                result[offset] = offset == 0 ? running : BigNumber.modMul(running, prefix[offset - 1], m)
                running = BigNumber.modMul(running, values[range.lowerBound + offset], m)
            }
            return result
        }
        return pieces.flatMap { $0 }
    }
}
