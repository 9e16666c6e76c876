import Testing

@testable import ArcaCrypto

/// SM4 itself (GB/T 32907-2016), one block at a time through ``BlockCipher`` (libcrypto's SM4-ECB).
@Suite("SM4 block cipher")
struct SM4Tests {
    /// Appendix A of the standard: the example block, encrypted once and 1,000,000 times.
    @Test(
        "GB/T 32907-2016 known answers",
        arguments: try Vectors.load("sm4_block_test.json", as: BlockCase.self)
            .testGroups.flatMap(\.tests))
    func knownAnswer(_ vector: BlockCase) throws {
        let sm4 = try BlockCipher("SM4-ECB", key: [UInt8](hex: vector.key))
        var block = [UInt8](hex: vector.msg)
        for _ in 0..<vector.iterations { sm4.encrypt(&block) }
        #expect(block == [UInt8](hex: vector.ct))
    }

    @Test("several blocks in one call are each encrypted on their own")
    func blocksAreIndependent() throws {
        let sm4 = try BlockCipher("SM4-ECB", key: [UInt8](hex: "0123456789abcdeffedcba9876543210"))
        var two = [UInt8](hex: "0123456789abcdeffedcba9876543210" + "0123456789abcdeffedcba9876543210")
        sm4.encrypt(&two)
        #expect(two == [UInt8](hex: "681edf34d206965e86b3e94f536e4246" + "681edf34d206965e86b3e94f536e4246"))
    }

    @Test("a key that is not 16 bytes is refused")
    func wrongKeyLength() {
        let short = [UInt8](repeating: 1, count: 15)
        let error = #expect(throws: CryptoError.self) { try BlockCipher("SM4-ECB", key: short) }
        #expect(error?.reason.contains("needs 16") == true)
    }
}
