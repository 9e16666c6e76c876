import ArcaCrypto
import Foundation
import Testing

@testable import ArcaAudit

@Suite("Appliance keys through OpenSSL: Ed25519 and SM2")
struct SigningKeyTests {
    /// RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72).
    @Test func rfc8032Vectors() throws {
        let vectors: [(seed: String, publicKey: String, message: String, signature: String)] = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                    + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                    + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
            ),
        ]
        for vector in vectors {
            let key = try SigningKey(seed: try #require(hexBytes(vector.seed)))
            #expect(hexString(key.publicKey) == vector.publicKey)
            let message = try #require(hexBytes(vector.message))
            #expect(hexString(try key.sign(message)) == vector.signature)
            #expect(
                SigningKey.verify(
                    signature: try #require(hexBytes(vector.signature)), message: message, publicKey: key.publicKey))
            #expect(
                !SigningKey.verify(
                    signature: try #require(hexBytes(vector.signature)), message: message + [0],
                    publicKey: key.publicKey))
        }
    }

    @Test func sm2SignsWithSM3AndTheKeyFileRoundTrips() throws {
        let directory = NSTemporaryDirectory() + "arca-sm2-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/appliance.key"
        let key = try SigningKey.loadOrCreate(path: path, algorithm: .sm2)
        #expect(key.algorithm == .sm2 && key.publicKey.count > 64)  // DER SubjectPublicKeyInfo of an SM2 point
        let message = Array("arca-audit-head sm3 7 abc".utf8)
        let signature = try key.sign(message)
        #expect(SigningKey.verify(signature: signature, message: message, publicKey: key.publicKey, algorithm: .sm2))
        #expect(
            !SigningKey.verify(signature: signature, message: message + [1], publicKey: key.publicKey, algorithm: .sm2))
        #expect(
            !SigningKey.verify(signature: signature, message: message, publicKey: key.publicKey, algorithm: .ed25519))
        // Read back from the file: the same key, and it verifies what the first one signed.
        let again = try SigningKey.loadOrCreate(path: path, algorithm: .sm2)
        #expect(again.publicKey == key.publicKey)
        #expect(
            SigningKey.verify(
                signature: try again.sign(message), message: message, publicKey: key.publicKey, algorithm: .sm2))
        // The key's scheme is fixed: asking the file for Ed25519 is refused, naming both.
        #expect(throws: CryptoError.self) { try SigningKey.loadOrCreate(path: path, algorithm: .ed25519) }
    }

    @Test func keyFileIsMade0600AndRefusedWhenOthersCanReadIt() throws {
        let directory = NSTemporaryDirectory() + "arca-key-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/appliance.key"
        let key = try SigningKey.loadOrCreate(path: path)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try SigningKey.loadOrCreate(path: path).publicKey == key.publicKey)
        chmod(path, 0o644)
        #expect(throws: CryptoError.self) { try SigningKey.loadOrCreate(path: path) }
    }
}

@Suite("The hash-chained audit log")
struct AuditLogTests {
    func makeLog(
        _ digest: Digest = .sha256, entries: Int = 8, checkpointEvery: Int = 3, signature: SignatureAlgorithm = .ed25519
    ) throws -> (AuditLog, String) {
        let directory = NSTemporaryDirectory() + "arca-audit-" + UUID().uuidString
        let log = try AuditLog(
            directory: directory, keyPath: directory + "/appliance.key", digest: digest,
            checkpointEvery: checkpointEvery, signature: signature)
        for index in 0..<entries {
            try log.append(
                AuditRecord(
                    action: "test.\(index)", actor: AuditActor(uid: 1000 + index, gid: 100, pid: 42, user: "u\(index)"),
                    result: "ok", job: index, datasets: ["d"], detail: "entry \(index) — ünïcode"))
        }
        return (log, directory)
    }

    func lines(_ log: AuditLog) throws -> [String] {
        try String(contentsOfFile: log.logPath, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func write(_ lines: [String], _ log: AuditLog) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: log.logPath, atomically: true, encoding: .utf8)
    }

    @Test(arguments: [(Digest.sha256, SignatureAlgorithm.ed25519), (.sm3, .sm2), (.sm3, .ed25519)])
    func untouchedVerifiesWithCheckpoints(_ digest: Digest, _ signature: SignatureAlgorithm) throws {
        let (log, directory) = try makeLog(digest, signature: signature)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let check = log.verify()
        #expect(check.ok, "\(check)")
        // start checkpoint + 8 entries + a checkpoint after every 3
        #expect(check.entries == 11 && check.checkpoints == 3)
        #expect(check.headSeq == 11)
        #expect(log.head()?.signatureAlgorithm == signature.rawValue)
        // Checked with another key, nothing verifies.
        let other = try SigningKey.generate(signature)
        let data = try Data(contentsOf: URL(fileURLWithPath: log.logPath))
        let forged = AuditLog.verify(
            log: data, head: log.head(), publicKey: other.publicKey, digest: digest, algorithm: signature)
        #expect(!forged.ok && forged.firstBadEntry == 1 && forged.reason?.contains("signature") == true, "\(forged)")
    }

    @Test func editDeleteSwapAndCutAreNamed() throws {
        let (log, directory) = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let original = try lines(log)

        var edited = original
        edited[5] = edited[5].replacingOccurrences(of: "\"uid\":1003", with: "\"uid\":1004")
        #expect(edited[5] != original[5])
        try write(edited, log)
        var check = log.verify()
        #expect(!check.ok && check.firstBadEntry == 6 && check.reason?.contains("altered") == true, "\(check)")

        var deleted = original
        deleted.remove(at: 6)
        try write(deleted, log)
        check = log.verify()
        #expect(!check.ok && check.firstBadEntry == 7 && check.reason?.contains("missing") == true, "\(check)")

        var swapped = original
        swapped.swapAt(2, 3)
        try write(swapped, log)
        check = log.verify()
        #expect(!check.ok && check.firstBadEntry == 3, "\(check)")

        try write(Array(original.dropLast(2)), log)
        check = log.verify()
        #expect(
            !check.ok && check.firstBadEntry == original.count - 1 && check.reason?.contains("cut") == true, "\(check)")

        // A rewritten chain (every hash recomputed by someone without the key) still fails: the
        // checkpoints' signatures and the head no longer match.
        try write(original, log)
        #expect(log.verify().ok)
    }

    @Test func aTornLastLineIsCutAtTheNextStartAndRecorded() throws {
        let (log, directory) = try makeLog(entries: 2)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let handle = try #require(FileHandle(forWritingAtPath: log.logPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"seq\":99,\"tim".utf8))
        try handle.close()
        let reopened = try AuditLog(
            directory: directory, keyPath: directory + "/appliance.key", digest: .sha256, checkpointEvery: 3)
        let check = reopened.verify()
        #expect(check.ok, "\(check)")
        #expect(try lines(reopened).contains { $0.contains("audit.recover") && $0.contains("torn") })
    }

    func reopen(_ directory: String) throws -> AuditLog {
        try AuditLog(directory: directory, keyPath: directory + "/appliance.key", digest: .sha256, checkpointEvery: 3)
    }

    @Test func aDeletedHeadIsRecordedAsABreakThatVerifyReportsForGood() throws {
        let (log, directory) = try makeLog(entries: 4)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.removeItem(atPath: log.headPath)
        let reopened = try reopen(directory)
        let breaks = try lines(reopened).enumerated().filter { $0.element.contains("\"action\":\"audit.break\"") }
        #expect(breaks.count == 1 && breaks[0].element.contains("audit.head is missing"))
        var check = reopened.verify()
        #expect(
            !check.ok && check.firstBadEntry == breaks[0].offset + 1
                && check.reason?.hasPrefix("audit.break") == true,
            "\(check)")
        #expect(check.recordedBreaks == [breaks[0].offset + 1] && !check.unrecordedProblem)
        #expect(reopened.startupProblems.contains { $0.contains("recorded a break") })
        // Opened again: still reported, not recorded twice.
        let again = try reopen(directory)
        check = again.verify()
        #expect(!check.ok && check.recordedBreaks.count == 1 && check.firstBadEntry == breaks[0].offset + 1, "\(check)")
    }

    @Test func aMissingKeyBesideALogIsRefused() throws {
        let (_, directory) = try makeLog(entries: 1)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.removeItem(atPath: directory + "/appliance.key")
        #expect(throws: AuditError.self) { try reopen(directory) }
        #expect(!FileManager.default.fileExists(atPath: directory + "/appliance.key"))
    }

    @Test func anOlderLogThanTheMarkIsRecordedAsARollback() throws {
        let (log, directory) = try makeLog(entries: 2)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mark = MemoryMark()
        try log.track(with: mark)
        let oldLog = try Data(contentsOf: URL(fileURLWithPath: log.logPath))
        let oldHead = try Data(contentsOf: URL(fileURLWithPath: log.headPath))
        for index in 0..<3 { try log.append(AuditRecord(action: "test.more\(index)", actor: .daemon, result: "ok")) }
        #expect(mark.highWaterMarkValue?.seq == log.head()?.seq)
        try oldLog.write(to: URL(fileURLWithPath: log.logPath))
        try oldHead.write(to: URL(fileURLWithPath: log.headPath))
        let restored = try reopen(directory)
        #expect(restored.verify().ok, "the older pair verifies by itself")
        try restored.track(with: mark)
        let check = restored.verify()
        #expect(!check.ok && check.reason?.contains("rollback: the log ended at entry") == true, "\(check)")
        #expect(mark.highWaterMarkValue?.seq == restored.head()?.seq)
    }
}

/// An ``AuditHighWaterMark`` in memory, as the job store keeps it on disk.
final class MemoryMark: AuditHighWaterMark, @unchecked Sendable {
    private let lock = NSLock()
    private var value: (seq: Int, hash: String, time: Date)?
    var highWaterMarkValue: (seq: Int, hash: String, time: Date)? { lock.withLock { value } }
    func highWaterMark() throws -> (seq: Int, hash: String, time: Date)? { lock.withLock { value } }
    func recordHighWaterMark(seq: Int, hash: String) throws { lock.withLock { value = (seq, hash, Date()) } }
}
