import ArcaAPI
import ArcaCrypto
import Foundation

/// python-paillier's file formats (phe 1.5.0 and its `pheutil` tool).
///
/// - Public key: JWK-style `{"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": <base64url>, "kid": …}`.
/// - Private key: `{"kty": "DAJ", "key_ops": ["decrypt"], "p": …, "q": …, "pub": <public key>, "kid": …}`.
/// Ciphertext and plaintext files are ``HEFiles``' (ArcaAPI), shared with arcactl.
public enum PaillierInterchange {
    public typealias PublicKeyJWK = PaillierPublicKeyJWK

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
            do { jwk = try decoder.decode(PrivateKeyJWK.self, from: data) } catch {
                throw HEError("key", "private key JWK: \(describe(error))")
            }
            let key = try PaillierPrivateKey(
                p: integer(base64url: jwk.p, field: "p"), q: integer(base64url: jwk.q, field: "q"))
            guard try publicKey(jwk.pub) == key.publicKey else { throw HEError("pub.n", "is not p·q") }
            return .privateKey(key, kid: jwk.kid)
        }
        let jwk: PublicKeyJWK
        do { jwk = try decoder.decode(PublicKeyJWK.self, from: data) } catch {
            throw HEError("key", "public key JWK: \(describe(error))")
        }
        return .publicKey(try publicKey(jwk), kid: jwk.kid)
    }

    /// Ciphertexts from their wire form, each checked to be a decimal integer.
    /// - Throws: ``HEError`` naming `source[i].v`.
    public static func ciphertexts(_ wire: [WireCiphertext], source: String) throws -> [Ciphertext] {
        try wire.enumerated().map { i, c in
            guard let value = BigNumber(decimal: c.v) else {
                throw HEError("\(source)[\(i)].v", "\"\(c.v.prefix(20))\" is not a non-negative decimal integer")
            }
            try EncodedNumber.checkExponent(c.e, item: "\(source)[\(i)].e")
            return Ciphertext(value: value, exponent: c.e)
        }
    }

    public static func wire(_ ciphertexts: [Ciphertext]) -> [WireCiphertext] {
        ciphertexts.map { WireCiphertext(v: $0.value.description, e: $0.exponent) }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \"\(key.stringValue)\" at \(path(context.codingPath))"
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
