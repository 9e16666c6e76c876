import ArcaCrypto
import Foundation

/// python-paillier's file formats (phe 1.5.0 and its `pheutil` tool).
///
/// - Public key: JWK-style `{"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": <base64url>, "kid": …}`.
/// - Private key: `{"kty": "DAJ", "key_ops": ["decrypt"], "p": …, "q": …, "pub": <public key>, "kid": …}`.
/// - Ciphertexts: `[{"v": "<decimal>", "e": <exponent>}, …]`, or `{"publicKey": <key>, "ciphertexts": […]}`.
/// - Plaintexts: a JSON array of numbers (integers of any size, or doubles).
public enum PaillierInterchange {
    public struct PublicKeyJWK: Codable, Sendable, Equatable {
        public var kty: String
        public var alg: String?
        public var key_ops: [String]?
        public var n: String
        public var kid: String?
    }

    struct PrivateKeyJWK: Codable {
        var kty: String
        var key_ops: [String]?
        var p: String
        var q: String
        var pub: PublicKeyJWK
        var kid: String?
    }

    /// Unpadded base64url of the big-endian bytes (python-paillier's `int_to_base64`).
    public static func base64url(_ value: BigNumber) -> String {
        Data(value.bigEndianBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func integer(base64url text: String, field: String) throws -> BigNumber {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        guard let data = Data(base64Encoded: standard), !data.isEmpty else { throw HEError(field, "not base64url") }
        return BigNumber(bigEndian: [UInt8](data))
    }

    public static func jwk(_ key: PaillierPublicKey, kid: String) -> PublicKeyJWK {
        PublicKeyJWK(kty: "DAJ", alg: "PAI-GN1", key_ops: ["encrypt"], n: base64url(key.n), kid: kid)
    }

    public static func publicKey(_ jwk: PublicKeyJWK) throws -> PaillierPublicKey {
        guard jwk.kty == "DAJ" else { throw HEError("kty", "expected \"DAJ\" (a Paillier key), got \"\(jwk.kty)\"") }
        if let alg = jwk.alg, alg != "PAI-GN1" { throw HEError("alg", "expected \"PAI-GN1\", got \"\(alg)\"") }
        return try PaillierPublicKey(n: integer(base64url: jwk.n, field: "n"))
    }

    /// A key file as `pheutil genpkey` (private) or `pheutil extract` (public) writes it.
    public enum KeyFile: Sendable {
        case publicKey(PaillierPublicKey, kid: String?)
        case privateKey(PaillierPrivateKey, kid: String?)
    }

    /// - Throws: ``HEError`` naming the field that is missing or wrong, or when p·q ≠ pub.n.
    public static func readKey(_ data: Data) throws -> KeyFile {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HEError("key", "not a JSON object")
        }
        let decoder = JSONDecoder()
        if object["p"] != nil || object["q"] != nil {
            let jwk: PrivateKeyJWK
            do { jwk = try decoder.decode(PrivateKeyJWK.self, from: data) } catch { throw HEError("key", "private key JWK: \(describe(error))") }
            let key = try PaillierPrivateKey(p: integer(base64url: jwk.p, field: "p"), q: integer(base64url: jwk.q, field: "q"))
            guard try publicKey(jwk.pub) == key.publicKey else { throw HEError("pub.n", "is not p·q") }
            return .privateKey(key, kid: jwk.kid)
        }
        let jwk: PublicKeyJWK
        do { jwk = try decoder.decode(PublicKeyJWK.self, from: data) } catch { throw HEError("key", "public key JWK: \(describe(error))") }
        return .publicKey(try publicKey(jwk), kid: jwk.kid)
    }

    struct WireCiphertext: Codable { var v: String; var e: Int }
    struct Envelope: Codable { var publicKey: PublicKeyJWK; var ciphertexts: [WireCiphertext] }

    /// Reads a ciphertext file in either form.
    /// - Returns: the ciphertexts, and the key of the envelope when there is one.
    /// - Throws: ``HEError`` naming the item (`[3].v`) or the JSON error's place.
    public static func readCiphertexts(_ data: Data) throws -> (ciphertexts: [Ciphertext], envelopeKey: PaillierPublicKey?) {
        let decoder = JSONDecoder()
        let wire: [WireCiphertext], key: PaillierPublicKey?
        let trimmed = data.first { !(" \t\r\n" as String).utf8.contains($0) }
        do {
            if trimmed == UInt8(ascii: "{") {
                let envelope = try decoder.decode(Envelope.self, from: data)
                (wire, key) = (envelope.ciphertexts, try publicKey(envelope.publicKey))
            } else {
                (wire, key) = (try decoder.decode([WireCiphertext].self, from: data), nil)
            }
        } catch let error as HEError {
            throw HEError("publicKey.\(error.item)", error.reason)
        } catch {
            throw HEError("ciphertexts", "expected [{\"v\": \"<decimal>\", \"e\": <int>}, …] or {\"publicKey\": …, \"ciphertexts\": […]}: \(describe(error))")
        }
        let ciphertexts = try wire.enumerated().map { i, c in
            guard let value = BigNumber(decimal: c.v) else { throw HEError("[\(i)].v", "\"\(c.v.prefix(20))\" is not a non-negative decimal integer") }
            return Ciphertext(value: value, exponent: c.e)
        }
        return (ciphertexts, key)
    }

    /// A ciphertext file: the bare array, or enveloped with the key's JWK.
    public static func ciphertextFile(_ ciphertexts: [Ciphertext], envelope key: PaillierPublicKey? = nil, kid: String = "") -> Data {
        let array = "[" + ciphertexts.map { "{\"v\": \"\($0.value)\", \"e\": \($0.exponent)}" }.joined(separator: ", ") + "]"
        guard let key else { return Data((array + "\n").utf8) }
        let jwk = String(decoding: try! JSONEncoder.sorted.encode(jwk(key, kid: kid)), as: UTF8.self)
        return Data("{\"publicKey\": \(jwk), \"ciphertexts\": \(array)}\n".utf8)
    }

    /// The number literals of a JSON array of numbers, parsed exactly (big integers stay exact).
    /// - Throws: ``HEError`` naming `[i]`, or line and column of malformed JSON.
    public static func readPlaintexts(_ data: Data) throws -> [PlainNumber] {
        let bytes = [UInt8](data)
        var i = 0, line = 1, lineStart = 0
        func place() -> String { "line \(line) column \(i - lineStart + 1)" }
        func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) {
                if bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
                i += 1
            }
        }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { throw HEError("plaintexts", "\(place()): expected a JSON array of numbers") }
        i += 1
        var numbers: [PlainNumber] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1 } else {
            while true {
                skipSpace()
                let start = i
                while i < bytes.count, !(bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "]") || [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i])) { i += 1 }
                let token = String(decoding: bytes[start..<i], as: UTF8.self)
                guard !token.isEmpty else { throw HEError("plaintexts", "\(place()): expected a number") }
                do { numbers.append(try PlainNumber(jsonLiteral: token, item: "[\(numbers.count)]")) } catch let error as HEError {
                    throw HEError(error.item, "\(error.reason) (line \(line))")
                }
                skipSpace()
                guard i < bytes.count else { throw HEError("plaintexts", "\(place()): unterminated array") }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                guard bytes[i] == UInt8(ascii: ",") else { throw HEError("plaintexts", "\(place()): expected , or ]") }
                i += 1
            }
        }
        skipSpace()
        guard i == bytes.count else { throw HEError("plaintexts", "\(place()): unexpected text after the array") }
        return numbers
    }

    /// A JSON array of the numbers' literals.
    public static func plaintextFile(_ numbers: [PlainNumber]) -> Data {
        Data(("[" + numbers.map(\.jsonLiteral).joined(separator: ", ") + "]\n").utf8)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing \"\(key.stringValue)\" at \(path(context.codingPath))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "malformed JSON\(underlying.map { ": \($0)" } ?? "")"
        default: return "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
