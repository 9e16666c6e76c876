import Testing

@testable import ArcaCrypto

/// ``AEAD``'s own contract: boxes round-trip, carry a fresh IV, and any change refuses to open.
@Suite("AEAD seal and open")
struct AEADTests {
    static let key = (0..<32).map { UInt8($0) }

    @Test("seal then open gives the plaintext back", arguments: AEAD.allCases, [0, 1, 15, 16, 17, 1000])
    func roundTrip(_ aead: AEAD, length: Int) throws {
        let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let aad = Array("record 42".utf8)
        let box = try aead.seal(plaintext, key: Self.key, associatedData: aad)
        #expect(box.count == AEAD.ivBytes + length + AEAD.tagBytes)
        #expect(try aead.open(box, key: Self.key, associatedData: aad) == plaintext)
        #expect(try aead.open(try aead.seal(plaintext, key: Self.key), key: Self.key) == plaintext)
    }

    @Test("two seals of one plaintext differ (a fresh IV each)", arguments: AEAD.allCases)
    func freshIV(_ aead: AEAD) throws {
        let first = try aead.seal([1, 2, 3], key: Self.key), second = try aead.seal([1, 2, 3], key: Self.key)
        #expect(first.prefix(AEAD.ivBytes) != second.prefix(AEAD.ivBytes))
        #expect(first != second)
    }

    enum Tamper: String, CaseIterable, Sendable { case iv, ciphertext, tag, associatedData, key }

    @Test(
        "a changed IV, ciphertext, tag, associated data or key fails to open",
        arguments: AEAD.allCases, Tamper.allCases)
    func tampered(_ aead: AEAD, _ tamper: Tamper) throws {
        let aad = Array("header".utf8)
        var box = try aead.seal(Array("a private key".utf8), key: Self.key, associatedData: aad)
        var openAAD = aad, openKey = Self.key
        switch tamper {
        case .iv: box[0] ^= 0x80
        case .ciphertext: box[AEAD.ivBytes] ^= 0x01
        case .tag: box[box.count - 1] ^= 0x01
        case .associatedData: openAAD[0] ^= 0x01
        case .key: openKey[0] ^= 0x01
        }
        let error = #expect(throws: CryptoError.self) { try aead.open(box, key: openKey, associatedData: openAAD) }
        #expect(error?.function == "AEAD.open")
        #expect(
            error.map { "\($0)" } == "AEAD.open failed: the \(aead.rawValue) tag does not verify: "
                + "wrong key, or the sealed data was altered")
    }

    @Test("missing associated data fails to open", arguments: AEAD.allCases)
    func droppedAssociatedData(_ aead: AEAD) throws {
        let box = try aead.seal([9, 9, 9], key: Self.key, associatedData: [1])
        #expect(throws: CryptoError.self) { try aead.open(box, key: Self.key) }
    }

    @Test("a box shorter than IV and tag, and a short key, are refused", arguments: AEAD.allCases)
    func shortInputs(_ aead: AEAD) throws {
        let short = #expect(throws: CryptoError.self) { try aead.open([UInt8](repeating: 0, count: 27), key: Self.key) }
        #expect(short?.reason.contains("too short") == true)
        let keyError = #expect(throws: CryptoError.self) { try aead.seal([1], key: [UInt8](repeating: 0, count: 15)) }
        #expect(keyError?.function == "AEAD.seal")
    }

    /// The composed SM4-GCM and ``AEAD/sm4gcm`` agree on fresh random input: the same code on OpenSSL 3.0,
    /// libcrypto's own SM4-GCM against the composed one where libcrypto has it.
    @Test("AEAD.sm4gcm and GaloisCounterMode over SM4-ECB agree")
    func sm4PathsAgree() throws {
        let key = try SecureRandom.bytes(16), iv = try SecureRandom.bytes(12)
        let plaintext = try SecureRandom.bytes(333), aad = try SecureRandom.bytes(29)
        let gcm = GaloisCounterMode(try BlockCipher("SM4-ECB", key: key))
        let sealed = try gcm.seal(plaintext, iv: iv, associatedData: aad)
        let box = try AEAD.sm4gcm.seal(plaintext, key: key, iv: iv, associatedData: aad)
        #expect(box == iv + sealed.ciphertext + sealed.tag)
    }
}
