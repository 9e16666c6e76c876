import ArcaAudit
import ArcaCrypto
import ArcaExecutors
import ArcaStore
import ArcaSystem
import Foundation
import Synchronization

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
    let maxRunning: Int
    /// `[party] max_jobs_per_peer`: jobs a partner may have queued or running here at once, counted
    /// over the jobs it opened (``submitOpened(kind:dataset:purpose:partner:session:options:)``).
    public let maxJobsPerPeer: Int
    struct Scheduling {
        var running: [Int64: Task<Void, Never>] = [:]
        var queue: [Int64] = []
        var cancelledBy: [Int64: String] = [:]
        /// Set by ``stop(grace:)``: nothing more starts, and running jobs end `interrupted`.
        var stopping = false
    }
    let scheduling = Mutex(Scheduling())

    public init(store: JobStore, audit: AuditLog, pool: ExecutorPool, kinds: [any JobKind], resultsDirectory: String,
                digest: Digest, maxRunning: Int, maxJobsPerPeer: Int = 4) throws {
        self.store = store; self.audit = audit; self.pool = pool; self.maxJobsPerPeer = max(1, maxJobsPerPeer)
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
            let ended = try store.update(job: job.id!, message: "interrupted", usage: { usageRecords($0) }) { job in
                job.state = .failed; job.reason = "interrupted"; job.finishedAt = Date()
            }
            guard let failed = ended else { continue }
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
            let file = try DatasetFile.read(path: path, digest: digest)
            let table = try CSVTable.parse(file.data, path: path, idColumn: idColumn, labelColumn: labelColumn)
            let record = DatasetRecord(name: name, path: path, digestAlgorithm: digest.name, digest: file.digest, sizeBytes: file.sizeBytes,
                                       rows: table.rows.count, columns: table.columns, idColumn: idColumn, labelColumn: labelColumn,
                                       registeredAt: Date(), registeredBy: actor.text)
            try store.insert(dataset: record)
            try audit.append(AuditRecord(action: "dataset.add", actor: actor, result: "ok", datasets: [name], resultHash: file.digest,
                                         detail: "\(path): \(table.rows.count) rows, \(table.columns.count) columns, \(digest.name) \(file.digest)"))
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
        let spec: JobSpec
        do {
            spec = try JobSpec.parse(specText)
        } catch {
            _ = try? audit.append(AuditRecord(action: "job.submit", actor: actor, result: "refused", datasets: [], detail: "\(error)"))
            throw error
        }
        return try submit(spec, actor: actor)
    }

    /// The responder's side of a job a partner opened over the party link: the spec is made from the
    /// opening's typed values (with `role = "responder"` and the link's `session`) and admitted under
    /// this appliance's own grants, with the partner as actor.
    /// - Throws: ``JobRuntimeError`` when `kind` is not one a peer may open here (``JobKind/peerMayOpen``),
    ///   and whatever ``submit(specText:actor:)`` throws.
    public func submitOpened(kind: String, dataset: String, purpose: String, partner: String, session: String,
                             options: [String: SpecValue]) throws -> JobRecord {
        guard let served = kinds[kind], served.peerMayOpen else {
            let open = kinds.values.filter(\.peerMayOpen).map(\.name).sorted()
            throw JobRuntimeError(.badRequest, "a peer may start only \(open.joined(separator: ", ")) jobs here, not \"\(kind.prefix(64))\"")
        }
        var options = options
        options["role"] = .string("responder")
        options["session"] = .string(session)
        let spec = JobSpec(kind: kind, dataset: dataset, partner: partner, purpose: purpose, options: options)
        return try submit(spec, actor: AuditActor(partner: partner), peerOpened: true)
    }

    func submit(_ spec: JobSpec, actor: AuditActor, peerOpened: Bool = false) throws -> JobRecord {
        let datasets = spec.dataset.map { [$0] } ?? []
        do {
            guard let kind = kinds[spec.kind] else {
                throw JobSpecError("spec key kind: unknown kind \"\(spec.kind.prefix(64))\"; this arcad runs \(kindNames.joined(separator: ", "))")
            }
            try kind.validate(spec)
            let job = try admitAndInsert(spec, kind: kind, actor: actor, peerOpened: peerOpened)
            scheduling.withLock { $0.queue.append(job.id!) }
            schedule()
            return job
        } catch let refusal as JobRefusal {
            _ = try? audit.append(AuditRecord(action: "job.submit", actor: actor, result: "refused", datasets: datasets, detail: "rule \(refusal.rule.rawValue): \(refusal.message)"))
            throw refusal
        } catch {
            _ = try? audit.append(AuditRecord(action: "job.submit", actor: actor, result: "refused", datasets: datasets, detail: "\(error)"))
            throw error
        }
    }

    /// Reads the dataset's file and checks its digest against the registration.
    func verifiedFile(_ dataset: DatasetRecord) throws -> DatasetFingerprint {
        guard let algorithm = Digest(name: dataset.digestAlgorithm) else {
            throw DatasetError(nil, "dataset \(dataset.name): its registration names digest \"\(dataset.digestAlgorithm)\", not sha256 or sm3")
        }
        let file = try DatasetFile.read(path: dataset.path, digest: algorithm)
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
        var context: JobContext?
        do {
            // Fail closed: a job whose start cannot be audited does not run.
            do {
                try audit.append(AuditRecord(action: "job.state", actor: .daemon, result: "running", job: Int(id),
                                             datasets: datasets))
            } catch {
                throw JobRuntimeError(.conflict, "audit: cannot record the job's start: \(error)")
            }
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
            try AtomicFile.write(result, to: path)
            let hash = try digest.hex(result)
            let (rows, counters) = context!.snapshot
            // Fail closed: the result counts only once its entry is in the audit log; a job whose end
            // cannot be audited fails, and its result file is removed.
            do {
                try audit.append(AuditRecord(action: "job.state", actor: .daemon, result: "succeeded", job: Int(id),
                                             datasets: datasets, resultHash: hash, detail: "\(rows) rows read"))
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                throw JobRuntimeError(.conflict, "audit: cannot record the job's end: \(error)")
            }
            try store.update(job: id, usage: { usageRecords($0) }) { job in
                job.state = .succeeded; job.finishedAt = Date(); job.resultPath = path; job.resultHash = hash
                job.rowsRead = rows; job.counters = counters.merging(["plannedRows": job.counters["plannedRows"] ?? 0]) { $1 }
            }
        } catch {
            let (cancelledBy, stopping) = scheduling.withLock { ($0.cancelledBy.removeValue(forKey: id), $0.stopping) }
            let (rows, counters) = context?.snapshot ?? (0, [:])
            let state: JobState = cancelledBy != nil ? .cancelled : .failed
            var reason = cancelledBy.map { "cancelled by \($0)" } ?? (stopping ? "interrupted" : "\(error)")
            // The end is audited before it is stored; an end that cannot be audited says so in the job.
            do {
                let detail = reason == "interrupted" ? "interrupted: arcad stopped (SIGTERM) while the job ran" : reason
                try audit.append(AuditRecord(action: "job.state", actor: .daemon, result: state.rawValue, job: Int(id),
                                             datasets: datasets, detail: detail))
            } catch {
                reason += " (the job's end could not be audited: \(error))"
            }
            let stored = reason
            _ = try? store.update(job: id, message: stored, usage: { usageRecords($0) }) { job in
                job.state = state; job.reason = stored; job.finishedAt = Date()
                job.rowsRead = rows; job.counters = counters.merging(["plannedRows": job.counters["plannedRows"] ?? 0]) { $1 }
            }
        }
    }
}

/// What an ended job used, as usage records: its rows read and each counter but `plannedRows`
/// (metered in the same transaction as the job's end).
func usageRecords(_ job: JobRecord) -> [UsageRecord] {
    let now = Date()
    func record(_ metric: String, _ amount: Double) -> UsageRecord {
        UsageRecord(id: nil, time: now, jobId: job.id!, kind: job.kind, dataset: job.dataset, partner: job.partner,
                    purpose: job.purpose, metric: metric, amount: amount)
    }
    return [record("rowsRead", Double(job.rowsRead))]
        + job.counters.sorted(by: { $0.key < $1.key }).filter { $0.key != "plannedRows" }
            .map { record($0.key, $0.value) }
}
