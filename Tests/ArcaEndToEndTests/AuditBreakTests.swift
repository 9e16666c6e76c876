import ArcaAPI
import Foundation
import Testing

/// The audit log does not heal itself (leak 11 of issue 13): a head deleted or damaged, a key
/// deleted, an older log and head restored together — each is found at the next start, recorded
/// in the chain as `audit.break`, and `arcactl audit verify` reports it from then on.
@Suite("audit breaks found at start are recorded, never healed", .serialized)
struct AuditBreakTests {
    /// A fixture with a few entries, stopped.
    func stoppedFixture() throws -> JobFixture {
        let fixture = try JobFixture()
        let daemon = try fixture.start()
        try fixture.registerBreast()
        #expect(
            try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"]).status == 0)
        #expect(try fixture.ctl(["audit", "verify"]).status == 0)
        #expect(daemon.stop() == 0)
        return fixture
    }

    func lines(_ fixture: JobFixture) throws -> [String] {
        try String(contentsOfFile: fixture.state + "/audit/audit.log", encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    /// Starts the daemon and checks that verify fails naming one `audit.break` entry containing `finding`,
    /// that status says so, and that a second start neither heals it nor records it again.
    func expectRecordedBreak(
        _ fixture: JobFixture, _ finding: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for start in 1...2 {
            let daemon = try fixture.start()
            let result = try fixture.ctl(["audit", "verify"])
            let breaks = try lines(fixture).enumerated().filter { $0.element.contains("\"action\":\"audit.break\"") }
            #expect(
                breaks.count == 1, "start \(start): one audit.break entry, got \(breaks.count)",
                sourceLocation: sourceLocation)
            let entry = (breaks.first?.offset ?? -2) + 1
            #expect(
                result.status == 9
                    && result.stderr.contains("first bad entry \(entry) (line \(entry)): audit.break")
                    && result.stderr.contains(finding), "start \(start): \(result.stderr)",
                sourceLocation: sourceLocation)
            #expect(breaks.first?.element.contains(finding) == true, "\(breaks)", sourceLocation: sourceLocation)
            let status = try fixture.json(StatusResponse.self, ["status"])
            #expect(
                status.health.status == "degraded"
                    && status.health.messages.contains { $0.contains("audit.break") || $0.contains(finding) },
                "\(status.health.messages)", sourceLocation: sourceLocation)
            // The log goes on after the break, and the break stays in it.
            let grant = try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", "p\(start)"])
            #expect(grant.status == 0, sourceLocation: sourceLocation)
            #expect(daemon.stop() == 0, sourceLocation: sourceLocation)
        }
    }

    @Test func aDeletedHeadIsRecordedAsABreak() throws {
        let fixture = try stoppedFixture()
        try FileManager.default.removeItem(atPath: fixture.state + "/audit/audit.head")
        try expectRecordedBreak(fixture, "audit.head is missing")
    }

    @Test func aDamagedHeadIsRecordedAsABreak() throws {
        let fixture = try stoppedFixture()
        let path = fixture.state + "/audit/audit.head"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try String(text.prefix(text.count / 2)).write(toFile: path, atomically: false, encoding: .utf8)
        try expectRecordedBreak(fixture, "audit.head is damaged")
    }

    @Test func aHeadWithAForgedSignatureIsRecordedAsABreak() throws {
        let fixture = try stoppedFixture()
        let path = fixture.state + "/audit/audit.head"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var head = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let signature = try #require(head["signature"] as? String)
        head["signature"] = (signature.first == "0" ? "1" : "0") + signature.dropFirst()
        try JSONSerialization.data(withJSONObject: head).write(to: URL(fileURLWithPath: path))
        try expectRecordedBreak(fixture, "does not verify with the appliance key")
    }

    @Test func aDeletedKeyIsRefusedAtStartAndNeverMadeAgain() throws {
        let fixture = try stoppedFixture()
        let key = fixture.state + "/audit/appliance.key"
        let saved = try Data(contentsOf: URL(fileURLWithPath: key))
        let log = try Data(contentsOf: URL(fileURLWithPath: fixture.state + "/audit/audit.log"))
        try FileManager.default.removeItem(atPath: key)
        let daemon = try fixture.start()
        let status = try fixture.json(StatusResponse.self, ["status"])
        #expect(
            status.health.status == "degraded"
                && status.health.messages.contains {
                    $0.contains("appliance key \(key) is missing") && $0.contains("makes no new key")
                },
            "\(status.health.messages)")
        let verify = try fixture.ctl(["audit", "verify"])
        #expect(
            verify.status == 1 && verify.stderr.contains("appliance key"),
            "no audit service without its key: \(verify.stderr)")
        #expect(try fixture.ctl(["dataset", "list"]).status == 1, "no job, dataset or grant without the audit log")
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: key), "no new key was made")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: fixture.state + "/audit/audit.log")) == log,
            "the log is left as it was")

        // The key put back: the log verifies as before, with no break.
        try saved.write(to: URL(fileURLWithPath: key))
        try #require(chmod(key, 0o600) == 0)
        let restarted = try fixture.start()
        let result = try fixture.ctl(["audit", "verify"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(restarted.stop() == 0)
    }

    @Test func anOlderLogRestoredWithItsHeadIsFoundOut() throws {
        let fixture = try stoppedFixture()
        let directory = fixture.state + "/audit"
        let oldLog = try Data(contentsOf: URL(fileURLWithPath: directory + "/audit.log"))
        let oldHead = try Data(contentsOf: URL(fileURLWithPath: directory + "/audit.head"))
        let oldEntries = try lines(fixture).count
        // More entries after the copy was taken: the store now knows a later end of the log.
        let daemon = try fixture.start()
        #expect(
            try fixture.ctl(["dataset", "grant", "breast", "--partner", "other", "--purpose", "stats"]).status == 0)
        #expect(daemon.stop() == 0)
        #expect(try lines(fixture).count > oldEntries + 1)
        // The older pair verifies by itself...
        try oldLog.write(to: URL(fileURLWithPath: directory + "/audit.log"))
        try oldHead.write(to: URL(fileURLWithPath: directory + "/audit.head"))
        // ...but not against the store.
        try expectRecordedBreak(fixture, "rollback: the log ended at entry")
    }

    @Test func aDeletedLogAndHeadAreFoundOut() throws {
        let fixture = try stoppedFixture()
        for file in ["audit.log", "audit.head"] {
            try FileManager.default.removeItem(atPath: fixture.state + "/audit/" + file)
        }
        try expectRecordedBreak(fixture, "rollback: the log ended at entry 1 but the job store holds entry")
    }
}
