import ArcaAccel
import ArcaCrypto

/// Batched Paillier operations. Every exponentiation of a batch goes to the ``DeviceRegistry``
/// (an OpenCL device, or the CPU fallback over every allowed core), every other per-item step runs
/// on the CPU executors; results are identical whichever device served.
///
/// Semantics follow python-paillier 1.5.0 (`EncryptedNumber`): adding ciphertexts of different
/// exponents first lowers the larger one (`decrease_exponent_to`), a negative scalar multiplies the
/// inverse ciphertext, decryption is by CRT.
public struct PaillierEngine: Sendable {
    public let registry: DeviceRegistry
    /// A device id (`cpu`, `ocl-…`) that every modexp is asked of, or `nil` to let the registry choose.
    public var preferred: String?

    /// What ran a batch: devices that served its modexps, fallbacks, and counts for metering.
    public struct Report: Sendable, Equatable {
        public var devices: Set<String> = []
        public var fallbacks: [String] = []
        public var modexps = 0
        public var multiplications = 0
        public init() {}
        mutating func add(_ served: DeviceRegistry.Served, count: Int) {
            devices.insert(served.device)
            if let fallback = served.fallback { fallbacks.append(fallback) }
            modexps += count
        }
    }

    public init(registry: DeviceRegistry, preferred: String? = nil) {
        self.registry = registry
        self.preferred = preferred
    }

    var cpu: CPUDevice { registry.cpu }

    func modExp(_ bases: [BigNumber], _ exponents: [BigNumber], _ modulus: BigNumber, _ report: inout Report,
                repeating: Int? = nil) async throws -> [BigNumber] {
        guard !bases.isEmpty else { return [] }
        if let repeating { return try await modExp(Array(repeating: bases[0], count: repeating), exponents, modulus, &report) }
        let (result, served) = try await registry.modExp(bases: bases, exponents: exponents, modulus: modulus, preferred: preferred)
        report.add(served, count: bases.count)
        return result
    }

    /// Fresh r uniform in [1, n) from OpenSSL's generator (as python-paillier's `get_random_lt_n`;
    /// one shares a factor with n with probability below 2^-1000, and the batch check catches it).
    /// - Throws: ``CryptoError`` when the generator fails.
    public static func randomness(count: Int, key: PaillierPublicKey) throws -> [BigNumber] {
        try (0..<count).map { _ in
            while true {
                let r = try BigNumber.random(below: key.n)
                if !r.isZero { return r }
            }
        }
    }

    /// r_i^n mod n² for each r_i: by CRT (r^(n mod p(p−1)) mod p², mod q²) when the private key is
    /// held — four times fewer word operations — else directly mod n². Both give the same value.
    public func obfuscators(_ r: [BigNumber], key: PaillierPublicKey, privateKey: PaillierPrivateKey?, report: inout Report) async throws -> [BigNumber] {
        guard let privateKey else { return try await modExp(r, [key.n], key.nSquare, &report) }
        let rp = try await cpu.map(r.count) { r[$0] % privateKey.pSquare }
        let rq = try await cpu.map(r.count) { r[$0] % privateKey.qSquare }
        let xp = try await modExp(rp, [privateKey.nModOrderP], privateKey.pSquare, &report)
        let xq = try await modExp(rq, [privateKey.nModOrderQ], privateKey.qSquare, &report)
        return try await cpu.map(r.count) { privateKey.combineSquares(xp[$0], xq[$0]) }
    }

    /// Encrypts each number with the DJN obfuscator: c = (1 + m·n)·hs^a mod n² for a uniform in
    /// [0, 2^ℓ). With no device asked for (or `cpu`), hs^a comes from the obfuscator's fixed-base tables
    /// on the CPU executors — multiplications only; asked for an OpenCL device, hs^a runs there as a
    /// batch of ℓ-bit modexps (by CRT when the private key is held). The same a give the same ciphertexts.
    /// - Parameter exponents: the a_i (default: fresh from OpenSSL); fixed values make it deterministic.
    public func encrypt(_ numbers: [EncodedNumber], djn: DJNObfuscator, exponents: [BigNumber]? = nil, report: inout Report) async throws -> [Ciphertext] {
        let key = djn.key
        let a = try exponents ?? djn.exponents(numbers.count)
        guard a.count == numbers.count else { throw HEError("exponents", "\(a.count) values for \(numbers.count) numbers") }
        for (i, value) in a.enumerated() where value.bitCount > djn.exponentBits {
            throw HEError("exponents[\(i)]", "wider than ℓ = \(djn.exponentBits) bits")
        }
        let obfuscators: [BigNumber]
        if preferred == nil || preferred == cpu.id {
            obfuscators = try await djn.powers(a, cpu: cpu)
            report.devices.insert(cpu.id)
        } else if let privateKey = djn.privateKey {
            let xp = try await modExp([djn.hs % privateKey.pSquare], a, privateKey.pSquare, &report, repeating: a.count)
            let xq = try await modExp([djn.hs % privateKey.qSquare], a, privateKey.qSquare, &report, repeating: a.count)
            obfuscators = try await cpu.map(a.count) { privateKey.combineSquares(xp[$0], xq[$0]) }
        } else {
            obfuscators = try await modExp([djn.hs], a, key.nSquare, &report, repeating: a.count)
        }
        report.multiplications += numbers.count
        return try await cpu.map(numbers.count) {
            Ciphertext(value: BigNumber.modMul(key.nude(numbers[$0].encoding), obfuscators[$0], key.nSquare), exponent: numbers[$0].exponent)
        }
    }

    /// Encrypts each number: c = (1 + m·n)·r^n mod n², exponent kept beside it.
    /// - Parameters:
    ///   - randomness: r_i ∈ [1, n), coprime to n (default: fresh from OpenSSL); fixed values make
    ///     encryption deterministic, e.g. to compare devices.
    ///   - privateKey: when held, r^n is computed by CRT.
    /// - Throws: ``HEError`` for a bad r (`randomness[i]`), errors of the registry.
    public func encrypt(_ numbers: [EncodedNumber], key: PaillierPublicKey, privateKey: PaillierPrivateKey? = nil,
                        randomness: [BigNumber]? = nil, report: inout Report) async throws -> [Ciphertext] {
        let r = try randomness ?? Self.randomness(count: numbers.count, key: key)
        guard r.count == numbers.count else { throw HEError("randomness", "\(r.count) values for \(numbers.count) numbers") }
        for (i, value) in r.enumerated() where value.isZero || value >= key.n { throw HEError("randomness[\(i)]", "r must be in [1, n)") }
        do { try key.validate(ciphertexts: r, item: "randomness") } catch let error as HEError {
            throw HEError(error.item, "r must be coprime to n")
        }
        let obfuscators = try await obfuscators(r, key: key, privateKey: privateKey, report: &report)
        report.multiplications += numbers.count
        return try await cpu.map(numbers.count) {
            Ciphertext(value: BigNumber.modMul(key.nude(numbers[$0].encoding), obfuscators[$0], key.nSquare), exponent: numbers[$0].exponent)
        }
    }

    /// Decrypts each ciphertext by CRT to its encoding (python-paillier's `raw_decrypt`), exponent kept.
    /// - Throws: ``HEError`` naming `items[i]` for a value ≥ n² or not a unit mod n².
    public func decrypt(_ ciphertexts: [Ciphertext], privateKey: PaillierPrivateKey, item: String = "ciphertexts", report: inout Report) async throws -> [EncodedNumber] {
        let key = privateKey.publicKey
        try key.validate(ciphertexts: ciphertexts.map(\.value), item: item)
        let cp = try await cpu.map(ciphertexts.count) { ciphertexts[$0].value % privateKey.pSquare }
        let cq = try await cpu.map(ciphertexts.count) { ciphertexts[$0].value % privateKey.qSquare }
        let xp = try await modExp(cp, [privateKey.pMinus1], privateKey.pSquare, &report)
        let xq = try await modExp(cq, [privateKey.qMinus1], privateKey.qSquare, &report)
        return try await cpu.map(ciphertexts.count) {
            EncodedNumber(encoding: privateKey.combineDecryption(xp[$0], xq[$0]), exponent: ciphertexts[$0].exponent)
        }
    }

    /// c^(16^(e − target)): the same plaintext at exponent `target` (python-paillier's
    /// `decrease_exponent_to`).
    static func lower(_ c: Ciphertext, to target: Int, key: PaillierPublicKey, item: String) throws -> Ciphertext {
        guard c.exponent > target else { return c }
        let factor = try EncodedNumber.alignmentFactor(from: c.exponent, to: target, key: key, item: item)
        return Ciphertext(value: try BigNumber.modExpConstantTime(c.value, factor, key.nSquare), exponent: target)
    }

    /// Element-wise a_i + b_i (ciphertext product mod n², exponents aligned to the lower).
    /// - Parameter items: the names errors give the two arrays (file names, say).
    /// - Throws: ``HEError`` for arrays of different lengths, invalid ciphertexts or an alignment overflow.
    public func add(_ a: [Ciphertext], _ b: [Ciphertext], key: PaillierPublicKey, items: (String, String) = ("first", "second"),
                    report: inout Report) async throws -> [Ciphertext] {
        guard a.count == b.count else { throw HEError("input", "the two ciphertext arrays differ in length (\(a.count) and \(b.count))") }
        try key.validate(ciphertexts: a.map(\.value), item: items.0)
        try key.validate(ciphertexts: b.map(\.value), item: items.1)
        report.multiplications += a.count
        return try await cpu.map(a.count) { i in
            let target = min(a[i].exponent, b[i].exponent)
            let x = try Self.lower(a[i], to: target, key: key, item: "\(items.0)[\(i)]")
            let y = try Self.lower(b[i], to: target, key: key, item: "\(items.1)[\(i)]")
            return Ciphertext(value: BigNumber.modMul(x.value, y.value, key.nSquare), exponent: target)
        }
    }

    /// Element-wise c_i + s_i for plaintexts s_i, encoded at no higher exponent than c_i
    /// (python-paillier's `_add_scalar`).
    public func addPlain(_ ciphertexts: [Ciphertext], _ plaintexts: [PlainNumber], key: PaillierPublicKey, item: String = "ciphertexts", report: inout Report) async throws -> [Ciphertext] {
        guard ciphertexts.count == plaintexts.count else { throw HEError("input", "\(ciphertexts.count) ciphertexts and \(plaintexts.count) plaintexts") }
        try key.validate(ciphertexts: ciphertexts.map(\.value), item: item)
        report.multiplications += ciphertexts.count
        return try await cpu.map(ciphertexts.count) { i in
            let encoded = try EncodedNumber.encode(plaintexts[i], key: key, maxExponent: ciphertexts[i].exponent, item: "plaintexts[\(i)]")
            let c = try Self.lower(ciphertexts[i], to: encoded.exponent, key: key, item: "\(item)[\(i)]")
            return Ciphertext(value: BigNumber.modMul(c.value, key.nude(encoded.encoding), key.nSquare), exponent: encoded.exponent)
        }
    }

    /// Element-wise c_i · s_i for plaintext scalars s_i: c^k mod n² for the encoding k, or (c⁻¹)^(n−k)
    /// for a negative scalar; exponent e_c + e_s. The exponentiations run as one batch on the registry.
    public func scale(_ ciphertexts: [Ciphertext], by scalars: [PlainNumber], key: PaillierPublicKey, item: String = "ciphertexts", report: inout Report) async throws -> [Ciphertext] {
        guard ciphertexts.count == scalars.count else { throw HEError("input", "\(ciphertexts.count) ciphertexts and \(scalars.count) scalars") }
        try key.validate(ciphertexts: ciphertexts.map(\.value), item: item)
        let prepared = try await cpu.map(ciphertexts.count) { i -> (BigNumber, BigNumber, Int) in
            let encoded = try EncodedNumber.encode(scalars[i], key: key, item: "scalars[\(i)]")
            let exponent = ciphertexts[i].exponent + encoded.exponent
            if encoded.encoding >= key.n - key.maxInt {
                return (BigNumber.modInverse(ciphertexts[i].value, key.nSquare)!, key.n - encoded.encoding, exponent)
            }
            return (ciphertexts[i].value, encoded.encoding, exponent)
        }
        let values = try await modExp(prepared.map(\.0), prepared.map(\.1), key.nSquare, &report)
        return zip(values, prepared).map { Ciphertext(value: $0, exponent: $1.2) }
    }

    /// Element-wise −c_i: the inverse mod n².
    public func negate(_ ciphertexts: [Ciphertext], key: PaillierPublicKey, item: String = "ciphertexts", report: inout Report) async throws -> [Ciphertext] {
        try key.validate(ciphertexts: ciphertexts.map(\.value), item: item)
        return try await cpu.map(ciphertexts.count) { Ciphertext(value: BigNumber.modInverse(ciphertexts[$0].value, key.nSquare)!, exponent: ciphertexts[$0].exponent) }
    }

    /// Element-wise c_i · r_i^n mod n²: the same plaintexts under fresh randomness.
    public func rerandomize(_ ciphertexts: [Ciphertext], key: PaillierPublicKey, privateKey: PaillierPrivateKey? = nil, item: String = "ciphertexts", report: inout Report) async throws -> [Ciphertext] {
        try key.validate(ciphertexts: ciphertexts.map(\.value), item: item)
        let obfuscators = try await obfuscators(Self.randomness(count: ciphertexts.count, key: key), key: key, privateKey: privateKey, report: &report)
        report.multiplications += ciphertexts.count
        return try await cpu.map(ciphertexts.count) { Ciphertext(value: BigNumber.modMul(ciphertexts[$0].value, obfuscators[$0], key.nSquare), exponent: ciphertexts[$0].exponent) }
    }

    /// Σ c_i as one ciphertext at the lowest exponent: partial products per chunk on the executors.
    /// - Throws: ``HEError`` for an empty array (there is no randomness to give its sum).
    public func sum(_ ciphertexts: [Ciphertext], key: PaillierPublicKey, item: String = "ciphertexts", report: inout Report) async throws -> Ciphertext {
        try key.validate(ciphertexts: ciphertexts.map(\.value), item: item)
        guard let target = ciphertexts.map(\.exponent).min() else { throw HEError("ciphertexts", "nothing to sum: the array is empty") }
        let chunks = max(1, min(ciphertexts.count / 64, 64))
        let partials = try await cpu.map(chunks) { chunk -> BigNumber in
            var product = BigNumber(1)
            for i in (ciphertexts.count * chunk / chunks)..<(ciphertexts.count * (chunk + 1) / chunks) {
                let c = try Self.lower(ciphertexts[i], to: target, key: key, item: "\(item)[\(i)]")
                product = BigNumber.modMul(product, c.value, key.nSquare)
            }
            return product
        }
        report.multiplications += ciphertexts.count
        return Ciphertext(value: partials.reduce(BigNumber(1)) { BigNumber.modMul($0, $1, key.nSquare) }, exponent: target)
    }
}
