import ArcaAudit
import ArcaCrypto
import ArcaExecutors
import ArcaStore
import ArcaTopology
import Foundation
import Testing

@testable import ArcaRuntime

/// A kind that reads its dataset and returns at once: what admission is checked against.
struct ReadingKind: JobKind {
    var name: String { "read" }
    var readsDataset: Bool { true }
    func validate(_ spec: JobSpec) throws { try spec.allowOnly([]) }
    func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int { dataset.rows }
    func run(_ context: JobContext) async throws -> Data { Data("{}".utf8) }
}

/// Each admission rule, on a real store, audit log and executor pool.
@Suite("Admission rules")
struct AdmissionTests {
    let directory: String
    let runtime: JobRuntime
    let pool: ExecutorPool
    let csv: String
    let actor = AuditActor(uid: 0, user: "test")

    init() throws {
        directory = NSTemporaryDirectory() + "arca-admission-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let audit = try AuditLog(
            directory: directory + "/audit", keyPath: directory + "/audit/appliance.key", digest: .sha256)
        let store = try JobStore(path: directory + "/arca.db")
        // As arcad runs it: every append also records the log's high-water mark in the store. (An
        // append inside admission's store transaction was a write inside a write: GRDB trapped.)
        try audit.track(with: store)
        let machine = try HwlocTopology(.system)
        pool = ExecutorPool(
            plan: machine.snapshot().plan(PlacementConfig()), topology: machine, capacity: 16, whenFull: .wait)
        runtime = try JobRuntime(
            store: store, audit: audit, pool: pool, kinds: [ReadingKind()],
            resultsDirectory: directory + "/results", digest: .sha256, maxRunning: 1,
            datasetRoots: DatasetRoots([directory]))
        csv = directory + "/rows.csv"
        try Data("id,x\n1,10\n2,20\n3,30\n".utf8).write(to: URL(fileURLWithPath: csv))
        _ = try runtime.registerDataset(name: "rows", path: csv, idColumn: "id", labelColumn: nil, actor: actor)
    }

    func spec(dataset: String = "rows", partner: String = "bank-b", purpose: String = "stats") -> String {
        "kind = \"read\"\ndataset = \"\(dataset)\"\npartner = \"\(partner)\"\npurpose = \"\(purpose)\"\n"
    }

    func refusal(_ text: String) -> AdmissionRule? {
        do {
            _ = try runtime.submit(specText: text, actor: actor)
            return nil
        } catch let refusal as JobRefusal {
            return refusal.rule
        } catch {
            Issue.record("not a refusal: \(error)")
            return nil
        }
    }

    func done() {
        pool.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func eachRuleRefusesWithItsName() throws {
        defer { done() }
        #expect(refusal(spec(dataset: "missing")) == .dataset)
        #expect(refusal(spec()) == .grantPartner)
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-b", purpose: "psi", maxRows: nil, per: nil, expiresAt: nil, actor: actor)
        #expect(refusal(spec()) == .grantPurpose)
        let grant = try runtime.grant(
            dataset: "rows", partner: "bank-b", purpose: "stats", maxRows: nil, per: nil,
            expiresAt: nil, actor: actor)
        _ = try runtime.revoke(grant: grant.id!, actor: actor)
        #expect(refusal(spec()) == .grantRevoked)
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-b", purpose: "stats", maxRows: nil, per: nil,
            expiresAt: Date(timeIntervalSinceNow: -60), actor: actor)
        #expect(refusal(spec()) == .grantExpired)
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-b", purpose: "stats", maxRows: 2, per: "day",
            expiresAt: nil, actor: actor)
        #expect(refusal(spec()) == .grantQuota, "3 rows against a quota of 2 per day")
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-c", purpose: "stats", maxRows: nil, per: nil,
            expiresAt: nil, actor: actor)
        try Data("id,x\n1,10\n2,20\n3,31\n".utf8).write(to: URL(fileURLWithPath: csv))
        #expect(refusal(spec(partner: "bank-c")) == .datasetChanged)
        // Every refusal is in the audit log with its rule.
        let entries = try runtime.audit.entries().map { String(decoding: $0, as: UTF8.self) }
        for rule in AdmissionRule.allCases where rule != .peerJobs {  // peer-jobs: ConcurrentAdmissionTests
            #expect(entries.contains { $0.contains("\"refused\"") && $0.contains("rule \(rule.rawValue):") }, "\(rule)")
        }
    }

    @Test func aQuotaCountsRowsOfJobsStillQueued() throws {
        defer { done() }
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-b", purpose: "stats", maxRows: 4, per: "day",
            expiresAt: nil, actor: actor)
        _ = try runtime.submit(specText: spec(), actor: actor)
        #expect(refusal(spec()) == .grantQuota, "3 admitted + 3 more is over 4")
    }

    @Test func aPeerMayOpenOnlyKindsThatSaySo() throws {
        defer { done() }
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-b", purpose: "stats", maxRows: nil, per: nil,
            expiresAt: nil, actor: actor)
        #expect(throws: JobRuntimeError.self) {
            try runtime.submitOpened(
                kind: "read", dataset: "rows", purpose: "stats", partner: "bank-b", session: "s",
                options: [:])
        }
    }

    @Test func aSpecMadeFromTypedValuesParsesBackToThem() throws {
        defer { done() }
        let options: [String: SpecValue] = [
            "suite": .string("ecdh-25519"), "bins": .int(10), "ratio": .double(0.5), "on": .bool(true),
            "quote": .string("a \"b\" \\ c\nd = [e]"),
        ]
        let spec = JobSpec(kind: "iv", dataset: "d", partner: "bank-b", purpose: "iv", options: options)
        let parsed = try JobSpec.parse(spec.text)
        #expect(parsed.options == options && parsed.kind == "iv" && parsed.dataset == "d" && parsed.partner == "bank-b")
    }
}
