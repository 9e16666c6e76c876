import ArcaCrypto
import ArcaOpenCL
import Foundation
import Testing
@testable import ArcaAccel

/// The OpenCL modexp kernel against known answers (Python's pow) and against OpenSSL on random inputs.
@Suite("OpenCL modexp", .serialized)
struct ModExpTests {
    struct Vectors: Decodable {
        struct Group: Decodable { var modulusBits: Int; var tests: [Case] }
        struct Case: Decodable { var tcId: Int; var base: String; var exponent: String; var modulus: String; var expected: String }
        var testGroups: [Group]
    }

    static func vectors() throws -> Vectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/modexp.json")
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }

    @Test func openSSLMatchesKnownAnswers() throws {
        for group in try Self.vectors().testGroups {
            for test in group.tests {
                let result = try BigNumber.modExpConstantTime(BigNumber(decimal: test.base)!, BigNumber(decimal: test.exponent)!, BigNumber(decimal: test.modulus)!)
                #expect(result.description == test.expected, "tcId \(test.tcId), \(group.modulusBits) bits")
            }
        }
    }

    @Test func deviceMatchesKnownAnswers() throws {
        let modexp = try OpenCLModExp(context: OpenCLNTTTests.firstDevice())
        for group in try Self.vectors().testGroups {
            // One launch per test (each has its own modulus); per-base exponents.
            for test in group.tests {
                let result = try modexp.run(bases: [BigNumber(decimal: test.base)!], exponents: [BigNumber(decimal: test.exponent)!],
                                            modulus: BigNumber(decimal: test.modulus)!)
                #expect(result.map(\.description) == [test.expected], "tcId \(test.tcId), \(group.modulusBits) bits")
            }
        }
    }

    @Test(arguments: [(1024, 1024, 8), (2048, 2048, 4), (4096, 512, 2)])
    func deviceMatchesOpenSSLOnFreshRandomInputs(_ bits: Int, _ exponentBits: Int, _ batch: Int) throws {
        let modexp = try OpenCLModExp(context: OpenCLNTTTests.firstDevice())
        let modulus = try BigNumber(randomBits: bits, odd: true)
        let bases = try (0..<batch).map { _ in try BigNumber(randomBelow: modulus) }
        let shared = try BigNumber(randomBits: exponentBits)
        let perBase = try (0..<batch).map { _ in try BigNumber(randomBits: exponentBits) }
        let sharedResult = try modexp.run(bases: bases, exponents: [shared], modulus: modulus)
        #expect(sharedResult == (try bases.map { try BigNumber.modExpConstantTime($0, shared, modulus) }))
        let perBaseResult = try modexp.run(bases: bases, exponents: perBase, modulus: modulus)
        #expect(perBaseResult == (try zip(bases, perBase).map { try BigNumber.modExpConstantTime($0, $1, modulus) }))
    }

    @Test func evenModulusIsRefusedByTheCPUPath() {
        #expect(throws: CryptoError.self) { try BigNumber.modExpConstantTime(BigNumber(words: [3]), BigNumber(words: [5]), BigNumber(words: [10])) }
    }
}
