import ArcaAudit
import ArcaCrypto
import ArcaRuntime
import Foundation
import Synchronization

/// A kind of job the runtime can run. PSI, WOE/IV and the rest plug in here.
public protocol JobKind: Sendable {
    /// The spec's `kind`, e.g. `dataset-stats`.
    var name: String { get }
    /// True when the job reads a registered dataset (the spec must name one, and a grant admit it).
    var readsDataset: Bool { get }
    /// Checks the spec's options. - Throws: ``JobSpecError``.
    func validate(_ spec: JobSpec) throws
    /// Rows the job will read of `dataset`, counted against the grant's quota at admission.
    func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int
    /// Runs the job; returns its result (JSON). Checks `Task.isCancelled` between steps.
    func run(_ context: JobContext) async throws -> Data
    /// The result file's extension (`json` unless the kind says otherwise, e.g. `csv`).
    func resultFileExtension(_ spec: JobSpec) -> String
}

extension JobKind {
    public func resultFileExtension(_ spec: JobSpec) -> String { "json" }
}

/// What a running job sees: its spec, its dataset (verified against its registration), the NUMA
/// executors, and its meters.
public final class JobContext: Sendable {
    public let id: Int64
    public let spec: JobSpec
    /// The dataset's rows, read from the registered file after its digest matched.
    public let table: CSVTable?
    /// The dataset's registration (id column, label column, path), when the job reads one.
    public let dataset: DatasetRecord?
    let pool: ExecutorPool
    struct Meters { var rowsRead = 0; var counters: [String: Double] = [:]; var placed = false; var lastFlush: ContinuousClock.Instant? }
    let meters = Mutex(Meters())
    let placed: @Sendable (WorkContext) -> Void
    let flush: @Sendable (Int, [String: Double]) -> Void

    init(id: Int64, spec: JobSpec, table: CSVTable?, dataset: DatasetRecord?, pool: ExecutorPool,
         placed: @escaping @Sendable (WorkContext) -> Void, flush: @escaping @Sendable (Int, [String: Double]) -> Void) {
        self.id = id; self.spec = spec; self.table = table; self.dataset = dataset; self.pool = pool; self.placed = placed; self.flush = flush
    }

    /// Sets counters to absolute values (progress such as items sent), stored like ``meter(rowsRead:_:)``.
    public func setCounters(_ values: [String: Double]) {
        let now = ContinuousClock.now
        let due = meters.withLock { meters -> (Int, [String: Double])? in
            for (key, value) in values { meters.counters[key] = value }
            if let last = meters.lastFlush, now - last < .milliseconds(200) { return nil }
            meters.lastFlush = now
            return (meters.rowsRead, meters.counters)
        }
        if let (rows, counters) = due { flush(rows, counters) }
    }

    /// Runs `work` on the NUMA executor the placement plan gives CPU work (the job records the
    /// first node and PUs it ran on) and meters its thread time as `cpuSeconds`.
    public func onExecutor<T: Sendable>(_ work: @escaping @Sendable (WorkContext) throws -> T) async throws -> T {
        try await pool.submit(.cpu) { [self] context in
            let first = meters.withLock { meters -> Bool in defer { meters.placed = true }; return !meters.placed }
            if first { placed(context) }
            let start = ContinuousClock.now
            defer {
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                meters.withLock { $0.counters["cpuSeconds", default: 0] += seconds }
            }
            return try work(context)
        }
    }

    /// Adds to the job's meters (rows read; operations by kind) and stores them with the job (at
    /// most five times a second; the final amounts are stored when the job ends).
    public func meter(rowsRead: Int = 0, _ operations: [String: Double] = [:]) {
        let now = ContinuousClock.now
        let due = meters.withLock { meters -> (Int, [String: Double])? in
            meters.rowsRead += rowsRead
            for (key, value) in operations { meters.counters[key, default: 0] += value }
            if let last = meters.lastFlush, now - last < .milliseconds(200) { return nil }
            meters.lastFlush = now
            return (meters.rowsRead, meters.counters)
        }
        if let (rows, counters) = due { flush(rows, counters) }
    }

    var snapshot: (Int, [String: Double]) { meters.withLock { ($0.rowsRead, $0.counters) } }
}

/// A job refused at admission: the rule that failed, and a sentence for the operator.
public struct JobRefusal: Error, CustomStringConvertible, Sendable {
    /// `dataset`, `dataset-changed`, `grant-partner`, `grant-purpose`, `grant-revoked`, `grant-expired`, `grant-quota`.
    public var rule: String
    public var message: String
    public var description: String { "refused by rule \(rule): \(message)" }
}

/// A request the runtime cannot do, with the API's status class.
public struct JobRuntimeError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case badRequest, notFound, conflict }
    public var kind: Kind
    public var description: String
    init(_ kind: Kind, _ description: String) { self.kind = kind; self.description = description }
}

extension AuditActor {
    /// `uid 1001 (alice) gid 1001 pid 4242`, or `partner bank-b`.
    public var text: String {
        if let partner { return "partner \(partner)" }
        return "uid \(uid.map(String.init) ?? "?")" + (user.map { " (\($0))" } ?? "") + " gid \(gid.map(String.init) ?? "?") pid \(pid.map(String.init) ?? "?")"
    }
}

/// Jobs from submission to their end: admission against grants, the durable record, scheduling
/// (at most `maxRunning` at once, first come first served), cancellation, metering and audit.
///
/// Grants: every job that reads a dataset needs a grant of that dataset to the spec's `partner`
/// for its `purpose` — local jobs too, as partner `local` — that has not expired and whose daily
/// row quota (UTC day) has room for the rows the job will read.
public final class JobRuntime: Sendable {
    public let store: JobStore
    public let audit: AuditLog
    let pool: ExecutorPool
    let kinds: [String: any JobKind]
    let resultsDirectory: String
    public let digest: Digest
    /// `[datasets] roots`: where dataset files may lie.
    public let datasetRoots: DatasetRoots
    let maxRunning: Int
    struct Scheduling {
        var running: [Int64: Task<Void, Never>] = [:]
        var queue: [Int64] = []
        var cancelledBy: [Int64: String] = [:]
        /// Set by ``stop(grace:)``: nothing more starts, and running jobs end `interrupted`.
        var stopping = false
    }
    let scheduling = Mutex(Scheduling())

    /// - Parameter datasetRoots: the directories datasets may be registered from and read in.
    public init(store: JobStore, audit: AuditLog, pool: ExecutorPool, kinds: [any JobKind], resultsDirectory: String,
                digest: Digest, maxRunning: Int, datasetRoots: DatasetRoots) throws {
        self.store = store; self.audit = audit; self.pool = pool; self.datasetRoots = datasetRoots
        self.kinds = Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.resultsDirectory = resultsDirectory; self.digest = digest; self.maxRunning = max(1, maxRunning)
        try FileManager.default.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public var kindNames: [String] { kinds.keys.sorted() }

    /// At start: a job that was running when arcad stopped is `failed` with reason `interrupted`
    /// (its meters as last stored are kept as usage); queued jobs are queued again.
    /// Returns the interrupted jobs.
    @discardableResult
    public func recover() throws -> [JobRecord] {
        var interrupted: [JobRecord] = []
        for job in try store.jobs(in: .running) {
            guard let failed = try store.update(job: job.id!, message: "interrupted", { job in
                job.state = .failed; job.reason = "interrupted"; job.finishedAt = Date()
            }) else { continue }
            try meterUsage(failed, rows: failed.rowsRead, counters: failed.counters)
            try audit.append(AuditRecord(action: "job.state", actor: .daemon, result: "failed", job: Int(job.id!), datasets: job.dataset.map { [$0] } ?? [],
                                         detail: "interrupted: arcad stopped while the job ran"))
            interrupted.append(failed)
        }
        let queued = try store.jobs(in: .queued).map { $0.id! }
        scheduling.withLock { $0.queue.append(contentsOf: queued) }
        schedule()
        return interrupted
    }

    // MARK: Datasets and grants

    /// Registers the CSV file at `path` as `name` after reading and verifying every row; nothing is
    /// stored when any row is bad. Audited either way.
    /// - Throws: ``DatasetError`` (with file:line:column), ``JobRuntimeError`` for a taken name.
    public func registerDataset(name: String, path: String, idColumn: String, labelColumn: String?, actor: AuditActor) throws -> DatasetRecord {
        do {
            guard JobSpec.isName(name) else {
                throw JobRuntimeError(.badRequest, "dataset name \"\(name.prefix(80))\" is not a name (letters, digits, . _ -; at most 64)")
            }
            guard path.hasPrefix("/") else { throw JobRuntimeError(.badRequest, "dataset path must be absolute, got \"\(path.prefix(200))\"") }
            if try store.dataset(name) != nil { throw JobRuntimeError(.conflict, "a dataset named \"\(name)\" is already registered") }
            let file = try DatasetFile.read(path: path, digest: digest, roots: datasetRoots)
            let table = try CSVTable.parse(file.data, path: path, idColumn: idColumn, labelColumn: labelColumn)
            // The resolved path is registered: a link changed later cannot point the dataset elsewhere.
            let record = DatasetRecord(name: name, path: file.resolvedPath, digestAlgorithm: digest.name,
                                       digest: file.digest, sizeBytes: file.sizeBytes,
                                       rows: table.rows.count, columns: table.columns, idColumn: idColumn, labelColumn: labelColumn,
                                       registeredAt: Date(), registeredBy: actor.text)
            try store.insert(dataset: record)
            try audit.append(AuditRecord(action: "dataset.add", actor: actor, result: "ok", datasets: [name], resultHash: file.digest,
                                         detail: "\(file.resolvedPath): \(table.rows.count) rows, "
                                            + "\(table.columns.count) columns, \(digest.name) \(file.digest)"))
            return record
        } catch {
            _ = try? audit.append(AuditRecord(action: "dataset.add", actor: actor, result: "refused", datasets: [name], detail: "\(error)"))
            throw error
        }
    }

    /// Grants `dataset` to `partner` for `purpose`. Audited.
    public func grant(dataset: String, partner: String, purpose: String, maxRows: Int?, per: String?, expiresAt: Date?, actor: AuditActor) throws -> GrantRecord {
        do {
            guard try store.dataset(dataset) != nil else { throw JobRuntimeError(.notFound, "no dataset named \"\(dataset)\"; see arcactl dataset list") }
            for (key, value) in [("partner", partner), ("purpose", purpose)] where !JobSpec.isName(value) {
                throw JobRuntimeError(.badRequest, "\(key) \"\(value.prefix(80))\" is not a name (letters, digits, . _ -; at most 64)")
            }
            if let maxRows, maxRows < 1 { throw JobRuntimeError(.badRequest, "maxRows must be at least 1, got \(maxRows)") }
            if (maxRows == nil) != (per == nil) { throw JobRuntimeError(.badRequest, "maxRows and per go together (e.g. maxRows 1000 per day)") }
            if let per, per != "day" { throw JobRuntimeError(.badRequest, "per must be \"day\", got \"\(per.prefix(40))\"") }
            let grant = try store.insert(grant: GrantRecord(id: nil, dataset: dataset, partner: partner, purpose: purpose, maxRows: maxRows, per: per,
                                                            expiresAt: expiresAt, createdAt: Date(), createdBy: actor.text))
            try audit.append(AuditRecord(action: "grant.add", actor: actor, result: "ok", datasets: [dataset],
                                         detail: "grant \(grant.id!): partner \(partner), purpose \(purpose)"
                                            + (maxRows.map { ", at most \($0) rows per day" } ?? "")
                                            + (expiresAt.map { ", expires \(AuditLog.timestamp($0))" } ?? "")))
            return grant
        } catch {
            _ = try? audit.append(AuditRecord(action: "grant.add", actor: actor, result: "refused", datasets: [dataset], detail: "\(error)"))
            throw error
        }
    }

    /// Revokes grant `id`: from now on it admits no job (jobs already admitted run on). Audited.
    public func revoke(grant id: Int64, actor: AuditActor) throws -> GrantRecord {
        guard let existing = try store.grants().first(where: { $0.id == id }) else { throw JobRuntimeError(.notFound, "no grant \(id)") }
        guard existing.revokedAt == nil else {
            throw JobRuntimeError(.conflict, "grant \(id) was already revoked at \(AuditLog.timestamp(existing.revokedAt!)) by \(existing.revokedBy ?? "?")")
        }
        guard let grant = try store.revoke(grant: id, by: actor.text) else { throw JobRuntimeError(.notFound, "no grant \(id)") }
        try audit.append(AuditRecord(action: "grant.revoke", actor: actor, result: "ok", datasets: [grant.dataset],
                                     detail: "grant \(id): partner \(grant.partner), purpose \(grant.purpose)"))
        return grant
    }

    // MARK: Jobs

    /// Parses, validates and admits a job, stores it `queued` and schedules it. A refusal is audited
    /// with the rule that failed.
    /// - Throws: ``JobSpecError``, ``JobRefusal``, ``JobRuntimeError``.
    public func submit(specText: String, actor: AuditActor) throws -> JobRecord {
        var datasets: [String] = []
        do {
            let spec = try JobSpec.parse(specText)
            datasets = spec.dataset.map { [$0] } ?? []
            guard let kind = kinds[spec.kind] else {
                throw JobSpecError("spec key kind: unknown kind \"\(spec.kind.prefix(64))\"; this arcad runs \(kindNames.joined(separator: ", "))")
            }
            try kind.validate(spec)
            var planned = 0
            if kind.readsDataset {
                guard let name = spec.dataset else { throw JobSpecError("spec key dataset: missing; kind \(kind.name) reads a registered dataset") }
                planned = try admit(spec, kind: kind, datasetName: name)
            }
            let job = try store.insert(job: JobRecord(id: nil, kind: spec.kind, spec: specText, dataset: spec.dataset, partner: spec.partner,
                                                      purpose: spec.purpose, state: .queued, reason: nil, submittedBy: actor.text, createdAt: Date(),
                                                      rowsRead: 0, counters: ["plannedRows": Double(planned)]))
            try audit.append(AuditRecord(action: "job.submit", actor: actor, result: "queued", job: Int(job.id!), datasets: datasets,
                                         detail: "kind \(spec.kind), partner \(spec.partner), purpose \(spec.purpose)"))
            scheduling.withLock { $0.queue.append(job.id!) }
            schedule()
            return job
        } catch let refusal as JobRefusal {
            _ = try? audit.append(AuditRecord(action: "job.submit", actor: actor, result: "refused", datasets: datasets, detail: "rule \(refusal.rule): \(refusal.message)"))
            throw refusal
        } catch {
            _ = try? audit.append(AuditRecord(action: "job.submit", actor: actor, result: "refused", datasets: datasets, detail: "\(error)"))
            throw error
        }
    }

    /// Checks the dataset and the grants; returns the rows the job will read.
    func admit(_ spec: JobSpec, kind: any JobKind, datasetName: String) throws -> Int {
        guard let dataset = try store.dataset(datasetName) else {
            throw JobRefusal(rule: "dataset", message: "no dataset named \"\(datasetName)\" is registered")
        }
        let grants = try store.grants(dataset: dataset.name)
        let forPartner = grants.filter { $0.partner == spec.partner }
        guard !forPartner.isEmpty else {
            let partners = Set(grants.map(\.partner)).sorted()
            throw JobRefusal(rule: "grant-partner", message: "dataset \(dataset.name) is not granted to partner \(spec.partner)"
                             + (partners.isEmpty ? " (it has no grants)" : " (granted to \(partners.joined(separator: ", ")))"))
        }
        let forPurpose = forPartner.filter { $0.purpose == spec.purpose }
        guard !forPurpose.isEmpty else {
            throw JobRefusal(rule: "grant-purpose", message: "dataset \(dataset.name) is granted to partner \(spec.partner) for \(Set(forPartner.map(\.purpose)).sorted().joined(separator: ", ")), not for \(spec.purpose)")
        }
        let standing = forPurpose.filter { $0.revokedAt == nil }
        guard !standing.isEmpty else {
            let grant = forPurpose.max { $0.revokedAt! < $1.revokedAt! }!
            throw JobRefusal(rule: "grant-revoked", message: "the grant of dataset \(dataset.name) to partner \(spec.partner) for \(spec.purpose) was revoked at \(AuditLog.timestamp(grant.revokedAt!)) by \(grant.revokedBy ?? "?")")
        }
        let now = Date()
        let live = standing.filter { $0.expiresAt.map { $0 > now } ?? true }
        guard !live.isEmpty else {
            let last = standing.compactMap(\.expiresAt).max()!
            throw JobRefusal(rule: "grant-expired", message: "the grant of dataset \(dataset.name) to partner \(spec.partner) for \(spec.purpose) expired at \(AuditLog.timestamp(last))")
        }
        let rows = kind.rowsToRead(spec, dataset: dataset)
        if !live.contains(where: { $0.maxRows == nil }) {
            let quota = live.compactMap(\.maxRows).max()!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let day = calendar.startOfDay(for: now)
            // Metered today, plus all that admitted jobs that have not ended will read (a job's rows
            // are metered when it ends).
            let pending = try store.jobs(in: .queued) + store.jobs(in: .running)
            let reserved = pending.filter { $0.dataset == dataset.name && $0.partner == spec.partner }
                .reduce(0) { $0 + Int($1.counters["plannedRows"] ?? 0) }
            let used = try store.rowsRead(dataset: dataset.name, partner: spec.partner, since: day) + reserved
            guard used + rows <= quota else {
                throw JobRefusal(rule: "grant-quota", message: "the job would read \(rows) rows of dataset \(dataset.name) for partner \(spec.partner); \(used) of the \(quota) rows per day are already used (UTC day from \(AuditLog.timestamp(day)))")
            }
        }
        // The file must still be the one registered: nothing runs on changed data. (The job checks
        // again when it reads the file, and parses what it hashed.)
        do {
            _ = try verifiedFile(dataset)
        } catch let error as DatasetError {
            throw JobRefusal(rule: "dataset-changed", message: error.description)
        }
        return rows
    }

    /// Reads the dataset's file and checks its digest against the registration.
    func verifiedFile(_ dataset: DatasetRecord) throws -> DatasetFingerprint {
        let algorithm: Digest = dataset.digestAlgorithm == "sm3" ? .sm3 : .sha256
        let file = try DatasetFile.read(path: dataset.path, digest: algorithm, roots: datasetRoots)
        guard file.digest == dataset.digest else {
            throw DatasetError(nil, "dataset \(dataset.name): \(dataset.path) changed since it was registered (\(dataset.digestAlgorithm) \(dataset.digest.prefix(16))… then, \(file.digest.prefix(16))… now, \(file.sizeBytes) bytes); register the new file under a new name")
        }
        return file
    }

    /// The dataset's rows, parsed from the very bytes whose digest matched the registration.
    func verifiedTable(_ dataset: DatasetRecord) throws -> CSVTable {
        let file = try verifiedFile(dataset)
        return try CSVTable.parse(file.data, path: dataset.path, idColumn: dataset.idColumn, labelColumn: dataset.labelColumn)
    }

    /// Cancels a queued or running job. Audited.
    public func cancel(_ id: Int64, actor: AuditActor) throws -> JobRecord {
        guard let job = try store.job(id) else { throw JobRuntimeError(.notFound, "no job \(id)") }
        guard !job.state.isFinal else { throw JobRuntimeError(.conflict, "job \(id) has already ended: \(job.state.rawValue)") }
        let task: Task<Void, Never>? = scheduling.withLock { scheduling in
            scheduling.cancelledBy[id] = actor.text
            if let index = scheduling.queue.firstIndex(of: id) { scheduling.queue.remove(at: index); return nil }
            return scheduling.running[id]
        }
        try audit.append(AuditRecord(action: "job.cancel", actor: actor, result: "ok", job: Int(id), datasets: job.dataset.map { [$0] } ?? []))
        if let task {
            task.cancel()
            return try store.job(id) ?? job
        }
        let cancelled = try store.update(job: id, message: "cancelled by \(actor.text)") { job in
            job.state = .cancelled; job.reason = "cancelled by \(actor.text)"; job.finishedAt = Date()
        }
        try audit.append(AuditRecord(action: "job.state", actor: .daemon, result: "cancelled", job: Int(id), datasets: job.dataset.map { [$0] } ?? []))
        return cancelled ?? job
    }

    /// The result file's bytes and the job, for a succeeded job.
    public func result(_ id: Int64) throws -> (JobRecord, Data) {
        guard let job = try store.job(id) else { throw JobRuntimeError(.notFound, "no job \(id)") }
        guard job.state == .succeeded, let path = job.resultPath else {
            throw JobRuntimeError(.conflict, "job \(id) has no result: it is \(job.state.rawValue)" + (job.reason.map { " (\($0))" } ?? ""))
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard try digest.hex(data) == job.resultHash else {
            throw JobRuntimeError(.conflict, "job \(id)'s result file \(path) no longer matches its recorded hash")
        }
        return (job, data)
    }

    private func schedule() {
        scheduling.withLock { scheduling in
            while !scheduling.stopping, scheduling.running.count < maxRunning, !scheduling.queue.isEmpty {
                let id = scheduling.queue.removeFirst()
                scheduling.running[id] = Task { await self.execute(id) }
            }
        }
    }

    /// At a clean stop (SIGTERM): starts nothing more, cancels the running jobs and waits up to
    /// `grace` for them to record their end — `failed`, reason `interrupted`. Queued jobs stay
    /// queued for the next start.
    public func stop(grace: Duration) async {
        let tasks = scheduling.withLock { scheduling in
            scheduling.stopping = true
            return Array(scheduling.running.values)
        }
        for task in tasks { task.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for task in tasks { await task.value } }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            group.cancelAll()
        }
    }

    private func execute(_ id: Int64) async {
        defer {
            _ = scheduling.withLock { $0.running.removeValue(forKey: id) }
            schedule()
        }
        guard let job = try? store.update(job: id, { job in job.state = .running; job.startedAt = Date() }) else { return }
        let datasets = job.dataset.map { [$0] } ?? []
        _ = try? audit.append(AuditRecord(action: "job.state", actor: .daemon, result: "running", job: Int(id), datasets: datasets))
        var context: JobContext?
        do {
            let spec = try JobSpec.parse(job.spec)
            guard let kind = kinds[job.kind] else { throw JobRuntimeError(.badRequest, "kind \(job.kind) is not served by this arcad") }
            var table: CSVTable?
            var record: DatasetRecord?
            if let name = job.dataset {
                guard let dataset = try store.dataset(name) else { throw DatasetError(nil, "dataset \(name) is no longer registered") }
                table = try verifiedTable(dataset)
                record = dataset
            }
            let store = self.store
            context = JobContext(id: id, spec: spec, table: table, dataset: record, pool: pool,
                                 placed: { work in _ = try? store.update(job: id) { $0.numaNode = work.numaNode; $0.pus = work.pus; $0.device = work.device ?? "cpu" } },
                                 flush: { rows, counters in _ = try? store.update(job: id) { job in
                                     job.rowsRead = rows
                                     job.counters = counters.merging(["plannedRows": job.counters["plannedRows"] ?? 0]) { $1 }
                                 } })
            let result = try await kind.run(context!)
            try Task.checkCancellation()
            let path = resultsDirectory + "/job-\(id).\(kind.resultFileExtension(spec))"
            try result.write(to: URL(fileURLWithPath: path), options: .atomic)
            let hash = try digest.hex(result)
            let (rows, counters) = context!.snapshot
            let done = try store.update(job: id) { job in
                job.state = .succeeded; job.finishedAt = Date(); job.resultPath = path; job.resultHash = hash
                job.rowsRead = rows; job.counters = counters.merging(["plannedRows": job.counters["plannedRows"] ?? 0]) { $1 }
            }
            if let done { try meterUsage(done, rows: rows, counters: counters) }
            try audit.append(AuditRecord(action: "job.state", actor: .daemon, result: "succeeded", job: Int(id), datasets: datasets, resultHash: hash,
                                         detail: "\(rows) rows read"))
        } catch {
            let (cancelledBy, stopping) = scheduling.withLock { ($0.cancelledBy.removeValue(forKey: id), $0.stopping) }
            let (rows, counters) = context?.snapshot ?? (0, [:])
            let state: JobState = cancelledBy != nil ? .cancelled : .failed
            let reason = cancelledBy.map { "cancelled by \($0)" } ?? (stopping ? "interrupted" : "\(error)")
            let ended = try? store.update(job: id, message: reason) { job in
                job.state = state; job.reason = reason; job.finishedAt = Date()
                job.rowsRead = rows; job.counters = counters.merging(["plannedRows": job.counters["plannedRows"] ?? 0]) { $1 }
            }
            if let ended { try? meterUsage(ended, rows: rows, counters: counters) }
            _ = try? audit.append(AuditRecord(action: "job.state", actor: .daemon, result: state.rawValue, job: Int(id), datasets: datasets,
                                              detail: reason == "interrupted" ? "interrupted: arcad stopped (SIGTERM) while the job ran" : reason))
        }
    }

    func meterUsage(_ job: JobRecord, rows: Int, counters: [String: Double]) throws {
        let now = Date()
        var records = [UsageRecord(id: nil, time: now, jobId: job.id!, kind: job.kind, dataset: job.dataset, partner: job.partner,
                                   purpose: job.purpose, metric: "rowsRead", amount: Double(rows))]
        for (metric, amount) in counters.sorted(by: { $0.key < $1.key }) where metric != "plannedRows" {
            records.append(UsageRecord(id: nil, time: now, jobId: job.id!, kind: job.kind, dataset: job.dataset, partner: job.partner,
                                       purpose: job.purpose, metric: metric, amount: amount))
        }
        try store.record(usage: records)
    }
}
