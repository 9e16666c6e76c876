import Testing

@testable import ArcaCrypto

/// SM4-GCM and AES-GCM against published vectors (`Vectors/`, see README.md there), through the public
/// ``AEAD`` (the IV fixed by the internal `seal(_:key:iv:associatedData:)`) and through
/// ``GaloisCounterMode`` over a libcrypto block cipher, so the composed GCM is checked with AES as well
/// as SM4 whichever path ``AEAD`` takes on this libcrypto.
@Suite("GCM known answers")
struct GCMVectorTests {
    /// RFC 8998 A.1 plus pyca/cryptography's SM4-GCM output and tampered copies.
    @Test("SM4-GCM through AEAD.sm4gcm", arguments: try Vectors.aead("sm4_gcm_test.json", keySize: 128))
    func sm4AEAD(_ vector: AEADCase) throws { try checkAEAD(.sm4gcm, vector) }

    @Test(
        "SM4-GCM through GaloisCounterMode over SM4-ECB",
        arguments: try Vectors.aead("sm4_gcm_test.json", keySize: 128))
    func sm4Composed(_ vector: AEADCase) throws { try checkComposed("SM4-ECB", vector) }

    /// NIST CAVP gcmEncryptExtIV256 and the GCM specification's AES-256 cases, plus tampered copies.
    @Test("AES-256-GCM through AEAD.aes256gcm", arguments: try Vectors.aead("aes_gcm_test.json", keySize: 256))
    func aes256AEAD(_ vector: AEADCase) throws { try checkAEAD(.aes256gcm, vector) }

    @Test(
        "AES-256-GCM through GaloisCounterMode over AES-256-ECB",
        arguments: try Vectors.aead("aes_gcm_test.json", keySize: 256))
    func aes256Composed(_ vector: AEADCase) throws { try checkComposed("AES-256-ECB", vector) }

    /// NIST CAVP gcmDecrypt128 (two SUCCESS, two FAIL) and spec cases 1-2. ``AEAD`` has no AES-128; these
    /// check the composed GCM with a second key size.
    @Test(
        "AES-128-GCM through GaloisCounterMode over AES-128-ECB",
        arguments: try Vectors.aead("aes_gcm_test.json", keySize: 128))
    func aes128Composed(_ vector: AEADCase) throws { try checkComposed("AES-128-ECB", vector) }

    func checkAEAD(_ aead: AEAD, _ vector: AEADCase) throws {
        let key = [UInt8](hex: vector.key), iv = [UInt8](hex: vector.iv), aad = [UInt8](hex: vector.aad)
        let box = iv + [UInt8](hex: vector.ct) + [UInt8](hex: vector.tag)
        if vector.valid {
            let msg = [UInt8](hex: vector.msg)
            #expect(try aead.seal(msg, key: key, iv: iv, associatedData: aad) == box)
            #expect(try aead.open(box, key: key, associatedData: aad) == msg)
        } else {
            let error = #expect(throws: CryptoError.self) { try aead.open(box, key: key, associatedData: aad) }
            #expect(error?.function == "AEAD.open")
            #expect(error?.reason.contains("tag does not verify") == true)
        }
    }

    func checkComposed(_ blockCipher: String, _ vector: AEADCase) throws {
        let gcm = GaloisCounterMode(try BlockCipher(blockCipher, key: [UInt8](hex: vector.key)))
        let iv = [UInt8](hex: vector.iv), aad = [UInt8](hex: vector.aad)
        let ct = [UInt8](hex: vector.ct), tag = [UInt8](hex: vector.tag)
        let opened = gcm.open(ct, tag: tag, iv: iv, associatedData: aad)
        if vector.valid {
            let sealed = try gcm.seal([UInt8](hex: vector.msg), iv: iv, associatedData: aad)
            #expect(sealed.ciphertext == ct)
            #expect(sealed.tag == tag)
            #expect(opened == [UInt8](hex: vector.msg))
        } else {
            #expect(opened == nil)
        }
    }
}
