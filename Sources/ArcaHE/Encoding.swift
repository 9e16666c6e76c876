import ArcaAPI
import ArcaCrypto

/// A plaintext number as JSON carries it: an integer of any size (a JSON number without `.`, `e` or
/// `E`, exactly as Python's `json` reads it) or an IEEE-754 double.
public enum PlainNumber: Sendable, Equatable, CustomStringConvertible {
    case integer(negative: Bool, magnitude: BigNumber)
    case float(Double)

    public init(_ value: Int) {
        self = .integer(negative: value < 0, magnitude: BigNumber(UInt64(value.magnitude)))
    }

    /// Parses one JSON number literal (RFC 8259 §6).
    /// - Throws: ``HEError`` naming `item` for anything else, or a float beyond a double's range.
    public init(jsonLiteral text: String, item: String) throws {
        let bytes = Array(text.utf8)
        guard HEFiles.isJSONNumber(bytes) else { throw HEError(item, "\(text.prefix(40)) is not a JSON number") }
        if bytes.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = Double(text), value.isFinite else {
                throw HEError(item, "\(text.prefix(40)) is beyond a double's range")
            }
            self = .float(value)
        } else {
            let negative = bytes.first == UInt8(ascii: "-")
            let magnitude = BigNumber(decimal: String(text.drop { $0 == "-" }))!
            self = .integer(negative: negative && !magnitude.isZero, magnitude: magnitude)
        }
    }

    /// The JSON literal: decimal digits for an integer, the shortest round-tripping form for a float.
    public var jsonLiteral: String {
        switch self {
        case let .integer(negative, magnitude): return (negative ? "-" : "") + magnitude.description
        case let .float(value):
            let text = value.description
            return text.contains(".") || text.contains("e") ? text : text + ".0"
        }
    }
    public var description: String { jsonLiteral }
}

/// A number encoded for Paillier exactly as python-paillier's `EncodedNumber` (phe 1.5.0): value =
/// mantissa · 16^exponent, mantissa kept as `encoding` = mantissa mod n, with |mantissa| ≤ max_int
/// (= n // 3 − 1) and encodings in (max_int, n − max_int) reserved for overflow detection.
public struct EncodedNumber: Sendable, Equatable {
    public static let base = 16
    /// Exponents Arca accepts, ±4096: far beyond what floats (−282…+243) and their alignment need, and
    /// a bound on the work and size of a decoded value (16^4096 is a 16,384-bit factor).
    public static let exponentLimit = 4096

    /// - Throws: ``HEError`` naming `item` when |exponent| exceeds ``exponentLimit``.
    public static func checkExponent(_ exponent: Int, item: String) throws {
        guard exponent >= -exponentLimit && exponent <= exponentLimit else {
            throw HEError(item, "exponent \(exponent) is beyond ±\(exponentLimit)")
        }
    }
    public var encoding: BigNumber
    public var exponent: Int

    public init(encoding: BigNumber, exponent: Int) {
        self.encoding = encoding
        self.exponent = exponent
    }

    /// `EncodedNumber.encode(public_key, scalar, max_exponent=maxExponent)`: integers at exponent 0,
    /// floats at ⌊(frexp exponent − 53) / 4⌋ — both exact; the exponent is lowered to `maxExponent`.
    /// - Throws: ``HEError`` when |mantissa| > max_int.
    public static func encode(
        _ value: PlainNumber, key: PaillierPublicKey, maxExponent: Int? = nil, item: String = "value"
    ) throws -> EncodedNumber {
        var negative: Bool, mantissa: BigNumber, binaryShift: Int, exponent: Int
        switch value {
        case let .integer(sign, magnitude):
            (negative, mantissa, binaryShift, exponent) = (sign, magnitude, 0, 0)
        case let .float(x):
            negative = x.sign == .minus && x != 0
            let bits = x.significandBitPattern, biased = Int(x.exponentBitPattern)
            mantissa = BigNumber(biased == 0 ? bits : bits | (1 << 52))
            binaryShift = biased == 0 ? -1074 : biased - 1075
            let frexpExponent = x == 0 ? 0 : Int(x.exponent) + 1
            exponent = Int((Double(frexpExponent - 53) / 4).rounded(.down))
        }
        if let maxExponent { exponent = min(exponent, maxExponent) }
        // value = mantissa · 2^binaryShift; int_rep = value · 16^−exponent, an integer (shift ≥ 0).
        let shift = mantissa.isZero ? 0 : binaryShift - 4 * exponent
        precondition(shift >= 0, "python-paillier's exponent choice keeps the encoding exact")
        mantissa = mantissa.shiftedLeft(shift)
        if mantissa > key.maxInt {
            throw HEError(
                item,
                """
                \(negative ? "negative " : "")value needs a \(mantissa.bitCount)-bit mantissa, beyond max_int (n \
                // 3 - 1, \(key.maxInt.bitCount) bits) of this key
                """
            )
        }
        let encoding = negative && !mantissa.isZero ? key.n - mantissa : mantissa
        return EncodedNumber(encoding: encoding, exponent: exponent)
    }

    /// `EncodedNumber.decode()`: an integer when exponent ≥ 0, else the correctly rounded double of
    /// mantissa / 16^−exponent (Python's true division).
    /// - Throws: ``HEError`` for an encoding ≥ n (corrupted), one in the overflow band, or a quotient
    ///   beyond a double's range.
    public func decode(key: PaillierPublicKey, item: String = "value") throws -> PlainNumber {
        try Self.checkExponent(exponent, item: item)
        let negative: Bool, mantissa: BigNumber
        if encoding >= key.n {
            throw HEError(item, "decrypted encoding is not below n: corrupted number")
        } else if encoding <= key.maxInt {
            (negative, mantissa) = (false, encoding)
        } else if encoding >= key.n - key.maxInt {
            (negative, mantissa) = (true, key.n - encoding)
        } else {
            throw HEError(item, "overflow detected in decrypted number (encoding between max_int and n - max_int)")
        }
        if exponent >= 0 {
            let magnitude = mantissa.shiftedLeft(4 * exponent)
            return .integer(negative: negative && !magnitude.isZero, magnitude: magnitude)
        }
        let value = try Self.roundedDouble(mantissa, binaryExponent: 4 * exponent, item: item)
        return .float(negative ? -value : value)
    }

    /// The double nearest to m · 2^e (ties to even), as Python's int / int gives it.
    static func roundedDouble(_ m: BigNumber, binaryExponent e: Int, item: String) throws -> Double {
        if m.isZero { return 0 }
        let length = m.bitCount
        let top = length - 1 + e  // m · 2^e ∈ [2^top, 2^(top+1))
        if top > 1023 { throw HEError(item, "decoded result too large for a float") }
        // Bits kept: 53, fewer below the normal range (the last is 2^-1074).
        let keep = top >= -1022 ? 53 : 53 - (-1022 - top)
        if keep <= 0 {
            // Below half the smallest subnormal rounds to 0; exactly half rounds to even (0); above → 2^-1074.
            if keep == 0, !(m == BigNumber(1).shiftedLeft(length - 1)) { return .leastNonzeroMagnitude }
            return 0
        }
        let drop = length - keep
        var q: UInt64
        if drop <= 0 {
            q = m.uint64!
        } else {
            q = m.shiftedRight(drop).uint64!
            let remainder = m - m.shiftedRight(drop).shiftedLeft(drop)
            let half = BigNumber(1).shiftedLeft(drop - 1)
            if remainder > half || (remainder == half && q & 1 == 1) { q += 1 }
        }
        let scaled = Double(sign: .plus, exponent: max(drop, 0) + e, significand: Double(q))
        if scaled.isInfinite { throw HEError(item, "decoded result too large for a float") }
        return scaled
    }

    /// `decrease_exponent_to`: the same value at a lower exponent, mantissa · 16^(exponent − new).
    /// - Throws: ``HEError`` when the factor 16^(exponent − new) itself exceeds max_int (as python-paillier).
    static func alignmentFactor(
        from exponent: Int, to newExponent: Int, key: PaillierPublicKey, item: String
    ) throws -> BigNumber {
        precondition(newExponent <= exponent)
        try checkExponent(exponent, item: item)
        try checkExponent(newExponent, item: item)
        let factor = BigNumber(1).shiftedLeft(4 * (exponent - newExponent))
        if factor > key.maxInt {
            throw HEError(
                item,
                "aligning exponent \(exponent) to \(newExponent) needs 16^\(exponent - newExponent), beyond max_int")
        }
        return factor
    }
}

/// A Paillier error naming the item it concerns (`ciphertexts[3]`, `key`, a file) and what was wrong.
public struct HEError: Error, CustomStringConvertible, Sendable, Equatable {
    public var item: String
    public var reason: String
    public init(_ item: String, _ reason: String) { self.item = item; self.reason = reason }
    public var description: String { "\(item): \(reason)" }
}
