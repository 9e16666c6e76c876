import ArcaAudit
import ArcaCrypto
import ArcaExecutors
import ArcaStore
import ArcaTopology
import Foundation
import Synchronization
import Testing

@testable import ArcaRuntime

/// A kind a peer may open that reads its dataset and runs until the test lets it end.
struct HeldKind: JobKind {
    let gate: Gate
    var name: String { "held" }
    var readsDataset: Bool { true }
    var peerMayOpen: Bool { true }
    func validate(_ spec: JobSpec) throws { try spec.allowOnly(["role", "session"]) }
    func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int { dataset.rows }
    func run(_ context: JobContext) async throws -> Data {
        gate.ran.withLock { $0 += 1 }
        context.meter(rowsRead: context.table?.rows.count ?? 0)
        while !gate.open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        return Data("{}".utf8)
    }
}

final class Gate: Sendable {
    let open = Mutex(false)
    let ran = Mutex(0)
}

/// Admission under concurrency (issue 13, leak 6): one transaction reserves the rows, and a peer
/// may have at most `max_jobs_per_peer` jobs at once.
@Suite("Admission under concurrent submissions")
struct ConcurrentAdmissionTests {
    let directory: String
    let runtime: JobRuntime
    let pool: ExecutorPool
    let gate = Gate()
    let actor = AuditActor(uid: 0, user: "test")

    init() throws {
        directory = NSTemporaryDirectory() + "arca-concurrent-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let audit = try AuditLog(
            directory: directory + "/audit", keyPath: directory + "/audit/appliance.key", digest: .sha256)
        let store = try JobStore(path: directory + "/arca.db")
        let machine = try HwlocTopology(.system)
        pool = ExecutorPool(
            plan: machine.snapshot().plan(PlacementConfig()), topology: machine, capacity: 16, whenFull: .wait)
        runtime = try JobRuntime(
            store: store, audit: audit, pool: pool, kinds: [HeldKind(gate: gate)],
            resultsDirectory: directory + "/results", digest: .sha256, maxRunning: 8, maxJobsPerPeer: 4)
        let csv = directory + "/rows.csv"
        try Data(("id,x\n" + (1...50).map { "\($0),\($0 * 10)" }.joined(separator: "\n") + "\n").utf8)
            .write(to: URL(fileURLWithPath: csv))
        _ = try runtime.registerDataset(name: "rows", path: csv, idColumn: "id", labelColumn: nil, actor: actor)
    }

    func done() {
        gate.open.withLock { $0 = true }
        pool.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `count` peer openings from as many threads at once; each outcome: the job, or the refusal's rule.
    func openConcurrently(_ count: Int, partner: String = "bank-a") async -> [Result<JobRecord, any Error>] {
        let outcomes = Mutex<[Result<JobRecord, any Error>]>([])
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread { [runtime] in
                start.wait()
                let outcome = Result {
                    try runtime.submitOpened(
                        kind: "held", dataset: "rows", purpose: "psi", partner: partner,
                        session: "session-\(index)", options: [:])
                }
                outcomes.withLock { $0.append(outcome) }
                group.leave()
            }.start()
        }
        for _ in 0..<count { start.signal() }
        // Waited for without blocking a thread of the test's (cooperative) pool, where the jobs run.
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        return outcomes.withLock { $0 }
    }

    /// Polls `condition` every 20 ms for up to 30 s, without blocking a thread.
    func waitUntil(_ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(30)
        while try !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    func rules(_ outcomes: [Result<JobRecord, any Error>]) -> [AdmissionRule?] {
        outcomes.compactMap { outcome in
            guard case .failure(let error) = outcome else { return nil }
            return (error as? JobRefusal)?.rule
        }
    }

    @Test func eightConcurrentOpeningsAgainstAQuotaOfOneJobsRowsAdmitExactlyOne() async throws {
        defer { done() }
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-a", purpose: "psi", maxRows: 50, per: "day", expiresAt: nil, actor: actor)
        let outcomes = await openConcurrently(8)
        let admitted = outcomes.compactMap { try? $0.get() }
        #expect(admitted.count == 1, "\(outcomes)")
        #expect(rules(outcomes) == Array(repeating: .grantQuota, count: 7), "\(outcomes)")
        #expect(try runtime.store.jobs().count == 1)
        // The one job runs to its end; its rows are metered and the day's quota stays spent.
        gate.open.withLock { $0 = true }
        try await waitUntil { try runtime.store.job(admitted[0].id!)?.state.isFinal == true }
        #expect(try runtime.store.job(admitted[0].id!)?.state == .succeeded)
        #expect(try runtime.store.rowsRead(dataset: "rows", partner: "bank-a", since: .distantPast) == 50)
        let later = await openConcurrently(4)
        #expect(rules(later) == Array(repeating: .grantQuota, count: 4))
        #expect(gate.ran.withLock { $0 } == 1)
    }

    @Test func aPeerHasAtMostMaxJobsPerPeerJobsQueuedOrRunning() async throws {
        defer { done() }
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-a", purpose: "psi", maxRows: nil, per: nil, expiresAt: nil, actor: actor)
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-c", purpose: "psi", maxRows: nil, per: nil, expiresAt: nil, actor: actor)
        let outcomes = await openConcurrently(8)
        #expect(outcomes.filter { (try? $0.get()) != nil }.count == 4, "\(outcomes)")
        #expect(rules(outcomes) == Array(repeating: .peerJobs, count: 4), "\(outcomes)")
        // Another peer has its own allowance; the refusals are audited with the rule.
        let other = await openConcurrently(1, partner: "bank-c")
        #expect(other.allSatisfy { (try? $0.get()) != nil })
        let entries = try runtime.audit.entries().map { String(decoding: $0, as: UTF8.self) }
        #expect(entries.filter { $0.contains("rule peer-jobs:") }.count == 4)
        // Once the jobs end, the peer may open again.
        gate.open.withLock { $0 = true }
        try await waitUntil { try runtime.store.jobs().allSatisfy(\.state.isFinal) }
        let again = await openConcurrently(1)
        #expect(again.allSatisfy { (try? $0.get()) != nil })
    }

    /// Fail closed: a job whose admission, start or end cannot be audited is not admitted, does not
    /// run, or fails without a result.
    @Test func withoutAWritableAuditLogNoJobIsAdmittedOrRuns() async throws {
        defer { done() }
        _ = try runtime.grant(
            dataset: "rows", partner: "bank-a", purpose: "psi", maxRows: nil, per: nil, expiresAt: nil, actor: actor)
        let first = try runtime.submitOpened(
            kind: "held", dataset: "rows", purpose: "psi", partner: "bank-a", session: "s1",
            options: [:])
        try await waitUntil { gate.ran.withLock { $0 } > 0 }
        // The log can no longer be written: a directory where the file was.
        try FileManager.default.removeItem(atPath: runtime.audit.logPath)
        try FileManager.default.createDirectory(atPath: runtime.audit.logPath, withIntermediateDirectories: false)
        #expect(throws: (any Error).self) {
            try runtime.submitOpened(
                kind: "held", dataset: "rows", purpose: "psi", partner: "bank-a", session: "s2", options: [:])
        }
        #expect(try runtime.store.jobs().count == 1, "the unaudited job was not stored")
        gate.open.withLock { $0 = true }
        try await waitUntil { try runtime.store.job(first.id!)?.state.isFinal == true }
        let ended = try #require(try runtime.store.job(first.id!))
        #expect(ended.state == .failed && ended.resultPath == nil, "\(ended)")
        #expect(ended.reason?.contains("audit: cannot record the job's end") == true, "\(ended.reason ?? "")")
        #expect(!FileManager.default.fileExists(atPath: directory + "/results/job-\(first.id!).json"))
    }
}
