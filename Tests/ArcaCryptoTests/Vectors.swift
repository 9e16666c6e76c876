import Foundation
import Testing

/// The vector files in `Vectors/` (Wycheproof's shape: `algorithm`, `testGroups`, cases with `result`),
/// written by `Vectors/make_vectors.py`; README.md there names the sources.
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static func load<Case: Decodable>(_ name: String, as: Case.Type = Case.self) throws -> VectorFile<Case> {
        try JSONDecoder().decode(VectorFile<Case>.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The cases of `file` whose group has `keySize` bits, tagged with the file's algorithm.
    static func aead(_ file: String, keySize: Int) throws -> [AEADCase] {
        try load(file, as: AEADCase.self).testGroups.filter { $0.keySize == keySize }.flatMap(\.tests)
    }
}

struct VectorFile<Case: Decodable>: Decodable {
    var algorithm: String
    var numberOfTests: Int
    var testGroups: [Group]
    struct Group: Decodable {
        var keySize: Int
        var tests: [Case]
    }
}

/// One GCM case: hex strings; `result` is `valid` (seal gives `ct ‖ tag`, open gives `msg`) or `invalid`
/// (open must refuse).
struct AEADCase: Decodable, Sendable, CustomTestStringConvertible {
    var tcId: Int
    var comment: String
    var key: String, iv: String, aad: String, msg: String, ct: String, tag: String
    var result: String

    var valid: Bool { result == "valid" }
    var testDescription: String { "tcId \(tcId): \(comment)" }
}

/// One block-cipher case: `msg` encrypted `iterations` times under `key` gives `ct`.
struct BlockCase: Decodable, Sendable, CustomTestStringConvertible {
    var tcId: Int
    var comment: String
    var key: String, msg: String, ct: String
    var iterations: Int
    var testDescription: String { "tcId \(tcId): \(comment)" }
}

extension Array where Element == UInt8 {
    /// Bytes from an even-length hex string (test data only: a bad digit traps).
    init(hex: String) {
        let digits = Array(hex.utf8)
        precondition(digits.count % 2 == 0, "odd-length hex")
        self = stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
        }
    }
}
