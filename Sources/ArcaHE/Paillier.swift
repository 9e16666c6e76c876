import ArcaCrypto

/// A Paillier public key with g = n + 1 (Paillier 1999; Damgård–Jurik's simplification), the form
/// python-paillier uses.
public struct PaillierPublicKey: Sendable, Equatable, Hashable {
    /// The modulus n = p·q.
    public let n: BigNumber
    /// n², the ciphertext modulus.
    public let nSquare: BigNumber
    /// The largest mantissa an ``EncodedNumber`` may carry: n // 3 − 1 (python-paillier 1.5.0).
    public let maxInt: BigNumber

    /// The largest modulus accepted, in bits: what key generation makes and the devices' modexp
    /// serves (moduli of n² up to 16384 bits). A larger n — say from a peer — is refused before n² is
    /// computed.
    public static let maxBits = 8192

    /// - Throws: ``HEError`` when n is even, shorter than 512 bits or longer than ``maxBits``.
    public init(n: BigNumber) throws {
        guard n.isOdd, n.bitCount >= 512, n.bitCount <= Self.maxBits else {
            throw HEError("key", "n must be odd and of 512 to \(Self.maxBits) bits (got \(n.bitCount) bits)")
        }
        self.n = n
        nSquare = n * n
        maxInt = n / BigNumber(3) - BigNumber(1)
    }

    /// Bits of n.
    public var bits: Int { n.bitCount }

    /// Short fingerprint: the first 16 hex digits of SHA-256 over n's big-endian bytes.
    public var fingerprint: String { (try? Digest.sha256.hex(n.bigEndianBytes).prefix(16)).map(String.init) ?? "?" }

    /// Checks a ciphertext value: below n² and a unit mod n² (gcd with n is 1).
    /// - Throws: ``HEError`` naming `item`.
    public func validate(ciphertext c: BigNumber, item: String) throws {
        guard c < nSquare else { throw HEError(item, "ciphertext is not below n² of key \(fingerprint)") }
        guard !c.isZero, BigNumber.gcd(c, n) == BigNumber(1) else { throw HEError(item, "ciphertext is not a unit mod n² (shares a factor with n)") }
    }

    /// Checks every value as ``validate(ciphertext:item:)`` does, with one gcd for the whole batch:
    /// all are units mod n² iff their product mod n is (OpenSSL's constant-time `BN_gcd` costs
    /// milliseconds at these sizes; a modular product costs microseconds).
    /// - Throws: ``HEError`` naming `item[i]` of the first bad value.
    public func validate(ciphertexts values: [BigNumber], item: String) throws {
        var product = BigNumber(1)
        for (i, c) in values.enumerated() {
            guard c < nSquare else { throw HEError("\(item)[\(i)]", "ciphertext is not below n² of key \(fingerprint)") }
            product = BigNumber.modMul(product, c % n, n)
        }
        if !values.isEmpty, BigNumber.gcd(product, n) != BigNumber(1) {
            for (i, c) in values.enumerated() { try validate(ciphertext: c, item: "\(item)[\(i)]") }
        }
    }

    /// (1 + m·n) mod n²: g^m for g = n + 1, without an exponentiation. m < n.
    func nude(_ m: BigNumber) -> BigNumber { (m * n + BigNumber(1)) % nSquare }
}

/// A Paillier private key: primes p < q of equal length and the CRT constants of python-paillier's
/// decryption (hp, hq, p⁻¹ mod q) plus those of CRT encryption (n mod p(p−1), n mod q(q−1),
/// (p²)⁻¹ mod q²).
public struct PaillierPrivateKey: Sendable {
    public let publicKey: PaillierPublicKey
    public let p: BigNumber, q: BigNumber
    let pSquare: BigNumber, qSquare: BigNumber
    let hp: BigNumber, hq: BigNumber
    let pInverse: BigNumber
    let pMinus1: BigNumber, qMinus1: BigNumber
    let nModOrderP: BigNumber, nModOrderQ: BigNumber
    let pSquareInverse: BigNumber
    /// The constants of the constant-time CRT recombination of decryption.
    let crt: ConstantTimeCRT

    /// - Throws: ``HEError`` when p or q is not prime, p = q, or gcd(n, (p−1)(q−1)) ≠ 1.
    public init(p first: BigNumber, q second: BigNumber) throws {
        let (p, q) = first < second ? (first, second) : (second, first)
        guard p != q, p.isProbablePrime, q.isProbablePrime else { throw HEError("key", "p and q must be two distinct primes") }
        let one = BigNumber(1)
        let n = p * q
        guard BigNumber.gcd(n, (p - one) * (q - one)) == one else { throw HEError("key", "gcd(n, (p-1)(q-1)) is not 1") }
        publicKey = try PaillierPublicKey(n: n)
        self.p = p
        self.q = q
        pSquare = p * p
        qSquare = q * q
        pMinus1 = p - one
        qMinus1 = q - one
        pInverse = BigNumber.modInverse(p, q)!
        let g = n + one
        func h(_ x: BigNumber, _ xSquare: BigNumber) -> BigNumber {
            let gx = try! BigNumber.modExpConstantTime(g % xSquare, x - one, xSquare)
            return BigNumber.modInverse((gx - one) / x, x)!
        }
        hp = h(p, pSquare)
        hq = h(q, qSquare)
        nModOrderP = n % (p * pMinus1)
        nModOrderQ = n % (q * qMinus1)
        pSquareInverse = BigNumber.modInverse(pSquare, qSquare)!
        crt = ConstantTimeCRT(p: p, q: q, hp: hp, hq: hq, pInverse: pInverse)
    }

    /// A new key with n of exactly `bits` bits (2048, 3072 or 4096; other multiples of 256 from 512 are
    /// accepted for tests), p and q from OpenSSL's prime generator with |p| = |q|.
    public static func generate(bits: Int) throws -> PaillierPrivateKey {
        guard bits >= 512, bits <= 8192, bits % 256 == 0 else { throw HEError("bits", "key size \(bits) is not a multiple of 256 between 512 and 8192") }
        while true {
            let p = try BigNumber.randomPrime(bits: bits / 2), q = try BigNumber.randomPrime(bits: bits / 2)
            guard p != q, (p * q).bitCount == bits else { continue }
            if let key = try? PaillierPrivateKey(p: p, q: q) { return key }
        }
    }

    /// m from c by CRT, given c^(p−1) mod p² and c^(q−1) mod q² (python-paillier's `raw_decrypt`), in
    /// fixed-width arithmetic that does not branch on secret values (``ConstantTimeCRT``).
    func combineDecryption(_ cp: BigNumber, _ cq: BigNumber) -> BigNumber { crt.combine(cp, cq) }

    /// The same with OpenSSL's variable-time `BN_*` calls: the reference the tests hold the
    /// constant-time form to.
    func combineDecryptionReference(_ cp: BigNumber, _ cq: BigNumber) -> BigNumber {
        let one = BigNumber(1)
        let mp = BigNumber.modMul((cp - one) / p, hp, p)
        let mq = BigNumber.modMul((cq - one) / q, hq, q)
        // m = mp + p·((mq − mp)·p⁻¹ mod q)
        let difference = (mq + q - mp % q) % q
        return mp + p * BigNumber.modMul(difference, pInverse, q)
    }

    /// x mod n² from x mod p² and x mod q² (Garner), in fixed-width arithmetic that does not branch
    /// on secret values (``ConstantTimeCRT``): x is r^n, the obfuscator of a ciphertext.
    func combineSquares(_ xp: BigNumber, _ xq: BigNumber) -> BigNumber { crt.combineSquares(xp, xq) }

    /// The same with OpenSSL's variable-time `BN_*` calls: the reference of the tests.
    func combineSquaresReference(_ xp: BigNumber, _ xq: BigNumber) -> BigNumber {
        let difference = (xq + qSquare - xp % qSquare) % qSquare
        return xp + pSquare * BigNumber.modMul(difference, pSquareInverse, qSquare)
    }
}

/// A ciphertext with the exponent of its encoding kept beside it in the clear (python-paillier's
/// `EncryptedNumber`: `ciphertext(be_secure=False)` and `exponent`).
public struct Ciphertext: Sendable, Equatable {
    public var value: BigNumber
    public var exponent: Int
    public init(value: BigNumber, exponent: Int) { self.value = value; self.exponent = exponent }
}
