import ArcaCrypto
import Foundation
import Testing

@testable import ArcaHE

/// The constant-time CRT recombination of decryption against OpenSSL's variable-time arithmetic,
/// and the bounds a peer's key and OpenSSL's generator are held to (issue 13, leaks 8 and 12).
@Suite("Constant-time CRT and key bounds")
struct ConstantTimeCRTTests {
    @Test(arguments: [512, 1024, 2048])
    func theConstantTimeRecombinationEqualsTheReference(bits: Int) throws {
        let key = try PaillierPrivateKey.generate(bits: bits)
        let n = key.publicKey.n
        // Plaintexts at the edges (0, 1, n − 1) and at random, each under fresh randomness.
        var plaintexts = [BigNumber(0), BigNumber(1), n - BigNumber(1)]
        for _ in 0..<20 { plaintexts.append(try BigNumber(randomBelow: n)) }
        for m in plaintexts {
            let r = try PaillierEngine.randomness(count: 1, key: key.publicKey)[0]
            let c = BigNumber.modMul(
                key.publicKey.nude(m), try BigNumber.modExpConstantTime(r, n, key.publicKey.nSquare),
                key.publicKey.nSquare)
            let cp = try BigNumber.modExpConstantTime(c % key.pSquare, key.pMinus1, key.pSquare)
            let cq = try BigNumber.modExpConstantTime(c % key.qSquare, key.qMinus1, key.qSquare)
            #expect(key.combineDecryption(cp, cq) == m)
            #expect(key.combineDecryptionReference(cp, cq) == m)
            // The obfuscator r^n mod n² by CRT (encryption with the private key held).
            let xp = try BigNumber.modExpConstantTime(r % key.pSquare, key.nModOrderP, key.pSquare)
            let xq = try BigNumber.modExpConstantTime(r % key.qSquare, key.nModOrderQ, key.qSquare)
            let direct = try BigNumber.modExpConstantTime(r, n, key.publicKey.nSquare)
            #expect(key.combineSquares(xp, xq) == direct && key.combineSquaresReference(xp, xq) == direct)
        }
    }

    @Test func fixedWidthWordsPadAndKeepTheValue() throws {
        let value = try BigNumber(randomBits: 300)
        let words = value.paddedWords(8)
        #expect(words.count == 8 && words[5...].allSatisfy { $0 == 0 })
        #expect(BigNumber(words: words) == value && words == value.words(count: 8))
    }

    /// A modulus over 8192 bits (what a hostile guest might send) is refused before n² is computed.
    @Test func aModulusOverTheLargestSizeIsRefused() throws {
        let huge = try BigNumber(randomBits: PaillierPublicKey.maxBits + 2, odd: true)
        #expect(throws: HEError.self) { try PaillierPublicKey(n: huge) }
        let largest = try BigNumber(randomBits: PaillierPublicKey.maxBits, odd: true)
        #expect(try PaillierPublicKey(n: largest).bits == PaillierPublicKey.maxBits)
    }

    /// The old random initialisers check OpenSSL's answer: a request it refuses throws instead of
    /// leaving a zero.
    @Test func randomInitialisersThrowWhenOpenSSLRefuses() throws {
        #expect(throws: CryptoError.self) { try BigNumber(randomBits: 0) }
        #expect(throws: CryptoError.self) { try BigNumber(randomBelow: BigNumber(0)) }
        #expect(try BigNumber(randomBits: 64, odd: true).bitCount == 64)
        #expect(try BigNumber(randomBelow: BigNumber(10)) < BigNumber(10))
    }
}
