import ArcaCrypto
import Foundation
import Testing

@testable import ArcaHE

/// `[he] seal_cipher` accepts both AEADs; each must seal a private key and open it in a restarted store.
/// With `sm4-gcm` this failed on OpenSSL 3.0 (no SM4-GCM in libcrypto) until AEAD composed its own.
@Suite("Paillier key store ciphers")
struct KeyStoreCipherTests {
    @Test("a private key sealed with each seal_cipher opens again", arguments: AEAD.allCases)
    func sealsWith(_ cipher: AEAD) throws {
        let directory = NSTemporaryDirectory() + "arca-he-cipher-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try PaillierKeyStore(directory: directory, cipher: cipher)
        let entry = try store.importKey(.privateKey(PaillierTests.key, kid: nil), name: "bank")
        let record = try String(contentsOfFile: directory + "/keys/\(entry.id).json", encoding: .utf8)
        #expect(record.contains(cipher.rawValue))
        // A restarted store configured with the other cipher reads the record's own.
        let other = AEAD.allCases.first { $0 != cipher }!
        #expect(try PaillierKeyStore(directory: directory, cipher: other).privateKey("bank").p == PaillierTests.key.p)
    }
}
