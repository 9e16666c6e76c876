import Foundation

/// python-paillier's file forms, read and written the same way by arcactl (files) and arcad (bodies).
///
/// - Ciphertexts: `[{"v": "<decimal>", "e": <exponent>}, …]` (what Arca writes by default), or
///   `{"publicKey": <public key JWK>, "ciphertexts": […]}` (`--envelope`), read either way.
/// - Plaintexts: a JSON array of numbers; integers of any size stay exact (kept as their literals).
public enum HEFiles {
    /// A file that cannot be read: the item (`[3].v`, `line 2 column 5`) and what was wrong.
    public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
        public var item: String
        public var reason: String
        public init(_ item: String, _ reason: String) { self.item = item; self.reason = reason }
        public var description: String { "\(item): \(reason)" }
    }

    struct Envelope: Codable { var publicKey: PaillierPublicKeyJWK; var ciphertexts: [WireCiphertext] }

    /// Reads a ciphertext file in either form; `source` names it in the set (for errors in arcad).
    /// - Throws: ``FormatError`` naming the item or the JSON's problem.
    public static func readCiphertexts(_ data: Data, source: String? = nil) throws -> HECiphertextSet {
        let first = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        let decoder = JSONDecoder()
        let set: HECiphertextSet
        do {
            if first == UInt8(ascii: "{") {
                let envelope = try decoder.decode(Envelope.self, from: data)
                set = HECiphertextSet(ciphertexts: envelope.ciphertexts, publicKey: envelope.publicKey, source: source)
            } else {
                set = HECiphertextSet(
                    ciphertexts: try decoder.decode([WireCiphertext].self, from: data), source: source)
            }
        } catch let error as DecodingError {
            throw FormatError(
                "ciphertexts",
                """
                expected [{\"v\": \"<decimal>\", \"e\": <integer>}, …] or {\"publicKey\": {…}, \"ciphertexts\": \
                […]}: \(describe(error))
                """
            )
        }
        for (i, c) in set.ciphertexts.enumerated() where c.v.isEmpty || !c.v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            throw FormatError("[\(i)].v", "\"\(c.v.prefix(20))\" is not a non-negative decimal integer")
        }
        return set
    }

    /// The bare array, or — with `envelope` — wrapped with the key, one line, newline-terminated.
    public static func ciphertextFile(_ ciphertexts: [WireCiphertext], envelope: PaillierPublicKeyJWK? = nil) -> Data {
        let array = "[" + ciphertexts.map { "{\"v\": \"\($0.v)\", \"e\": \($0.e)}" }.joined(separator: ", ") + "]"
        guard let envelope else { return Data((array + "\n").utf8) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let key = String(decoding: (try? encoder.encode(envelope)) ?? Data("{}".utf8), as: UTF8.self)
        return Data("{\"publicKey\": \(key), \"ciphertexts\": \(array)}\n".utf8)
    }

    /// The number literals of a JSON array of numbers (RFC 8259 §6 grammar, checked here).
    /// - Throws: ``FormatError`` naming `[i]` or the line and column of malformed JSON.
    public static func plaintextLiterals(_ data: Data) throws -> [String] {
        let bytes = [UInt8](data)
        var i = 0, line = 1, lineStart = 0
        func place() -> String { "line \(line) column \(i - lineStart + 1)" }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        func skipSpace() {
            while i < bytes.count, isSpace(bytes[i]) {
                if bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
                i += 1
            }
        }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else {
            throw FormatError("plaintexts", "\(place()): expected a JSON array of numbers")
        }
        i += 1
        var literals: [String] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                skipSpace()
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "]"), !isSpace(bytes[i])
                { i += 1 }
                let token = String(decoding: bytes[start..<i], as: UTF8.self)
                guard !token.isEmpty else { throw FormatError("plaintexts", "\(place()): expected a number") }
                guard isJSONNumber(Array(token.utf8)) else {
                    throw FormatError("[\(literals.count)]", "\(token.prefix(40)) is not a JSON number (line \(line))")
                }
                literals.append(token)
                skipSpace()
                guard i < bytes.count else { throw FormatError("plaintexts", "\(place()): unterminated array") }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                guard bytes[i] == UInt8(ascii: ",") else {
                    throw FormatError("plaintexts", "\(place()): expected , or ]")
                }
                i += 1
            }
        }
        skipSpace()
        guard i == bytes.count else { throw FormatError("plaintexts", "\(place()): unexpected text after the array") }
        return literals
    }

    /// Whether `b` is one JSON number: `-`? int (`.` digits)? (`e` sign? digits)?
    public static func isJSONNumber(_ b: [UInt8]) -> Bool {
        var i = 0
        func digits() -> Int { let start = i; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }; return i - start }
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; if digits() == 0 { return false } }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == b.count
    }

    /// A JSON array of the literals, newline-terminated.
    public static func plaintextFile(_ literals: [String]) -> Data {
        Data(("[" + literals.joined(separator: ", ") + "]\n").utf8)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \"\(key.stringValue)\" at \(path(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "malformed JSON\(underlying.map { ": \($0)" } ?? "")"
        @unknown default: return "\(error)"
        }
    }
}
