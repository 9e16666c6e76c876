import ArcaAudit
import Foundation
import GRDB

/// A job's life: `queued` → `running` → `succeeded` | `failed` | `cancelled`.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// One job as stored: its spec, state, where it ran, its counters, and its result or error.
public struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "jobs"
    public var id: Int64?
    public var kind: String
    /// The spec as submitted (TOML text).
    public var spec: String
    public var dataset: String?
    public var partner: String
    public var purpose: String
    public var state: JobState
    /// Why it ended as it did: `interrupted`, `cancelled by …`, the error.
    public var reason: String?
    /// Who submitted it: `uid 0 (root) pid 1234`.
    public var submittedBy: String
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var numaNode: Int?
    public var pus: [Int]?
    public var device: String?
    public var rowsRead: Int
    /// Operations by kind and other measures (`cpuSeconds`), as last recorded.
    public var counters: [String: Double]
    public var resultPath: String?
    /// Digest (hex) of the result file, with the store's digest algorithm.
    public var resultHash: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(
        id: Int64? = nil,
        kind: String,
        spec: String,
        dataset: String? = nil,
        partner: String,
        purpose: String,
        state: JobState,
        reason: String? = nil,
        submittedBy: String,
        createdAt: Date,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        numaNode: Int? = nil,
        pus: [Int]? = nil,
        device: String? = nil,
        rowsRead: Int,
        counters: [String: Double],
        resultPath: String? = nil,
        resultHash: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.spec = spec
        self.dataset = dataset
        self.partner = partner
        self.purpose = purpose
        self.state = state
        self.reason = reason
        self.submittedBy = submittedBy
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.numaNode = numaNode
        self.pus = pus
        self.device = device
        self.rowsRead = rowsRead
        self.counters = counters
        self.resultPath = resultPath
        self.resultHash = resultHash
    }
}

/// A state change of a job, with its time.
public struct JobEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "jobEvents"
    public var id: Int64?
    public var jobId: Int64
    public var time: Date
    public var state: JobState
    public var message: String?
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(
        id: Int64? = nil,
        jobId: Int64,
        time: Date,
        state: JobState,
        message: String? = nil
    ) {
        self.id = id
        self.jobId = jobId
        self.time = time
        self.state = state
        self.message = message
    }
}

/// A registered local file: its fingerprint at registration and its verified schema.
public struct DatasetRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "datasets"
    public var name: String
    public var path: String
    /// `sha256` or `sm3`.
    public var digestAlgorithm: String
    public var digest: String
    public var sizeBytes: Int
    public var rows: Int
    public var columns: [DatasetColumn]
    public var idColumn: String
    public var labelColumn: String?
    public var registeredAt: Date
    public var registeredBy: String

    public init(
        name: String,
        path: String,
        digestAlgorithm: String,
        digest: String,
        sizeBytes: Int,
        rows: Int,
        columns: [DatasetColumn],
        idColumn: String,
        labelColumn: String? = nil,
        registeredAt: Date,
        registeredBy: String
    ) {
        self.name = name
        self.path = path
        self.digestAlgorithm = digestAlgorithm
        self.digest = digest
        self.sizeBytes = sizeBytes
        self.rows = rows
        self.columns = columns
        self.idColumn = idColumn
        self.labelColumn = labelColumn
        self.registeredAt = registeredAt
        self.registeredBy = registeredBy
    }
}

/// Permission to use a dataset for one partner and purpose, within a row quota and until a date.
public struct GrantRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "grants"
    public var id: Int64?
    public var dataset: String
    public var partner: String
    public var purpose: String
    /// Rows that may be read per `per` period; nil: no quota.
    public var maxRows: Int?
    /// `day` (UTC calendar day) when `maxRows` is set.
    public var per: String?
    /// The grant ends at this instant; nil: no end.
    public var expiresAt: Date?
    public var createdAt: Date
    public var createdBy: String
    /// When and by whom it was revoked; a revoked grant admits nothing.
    public var revokedAt: Date?
    public var revokedBy: String?
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(
        id: Int64? = nil,
        dataset: String,
        partner: String,
        purpose: String,
        maxRows: Int? = nil,
        per: String? = nil,
        expiresAt: Date? = nil,
        createdAt: Date,
        createdBy: String,
        revokedAt: Date? = nil,
        revokedBy: String? = nil
    ) {
        self.id = id
        self.dataset = dataset
        self.partner = partner
        self.purpose = purpose
        self.maxRows = maxRows
        self.per = per
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
        self.revokedBy = revokedBy
    }
}

/// One metered amount: what a job used of a dataset for a partner.
public struct UsageRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "usage"
    public var id: Int64?
    public var time: Date
    public var jobId: Int64
    public var kind: String
    public var dataset: String?
    public var partner: String
    public var purpose: String
    /// `rowsRead`, `cpuSeconds`, or an operation count such as `stats.values`, `encryptions`, `modexps`, `ntts`.
    public var metric: String
    public var amount: Double
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(
        id: Int64? = nil,
        time: Date,
        jobId: Int64,
        kind: String,
        dataset: String? = nil,
        partner: String,
        purpose: String,
        metric: String,
        amount: Double
    ) {
        self.id = id
        self.time = time
        self.jobId = jobId
        self.kind = kind
        self.dataset = dataset
        self.partner = partner
        self.purpose = purpose
        self.metric = metric
        self.amount = amount
    }
}

public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The durable record of jobs, datasets, grants and usage: one SQLite file (`<state>/arca.db`)
/// in WAL mode with `synchronous = FULL`, so a committed change survives a crash of arcad or of
/// the machine, and a crash mid-write leaves the last committed state.
public final class JobStore: AuditHighWaterMark, Sendable {
    let database: DatabasePool
    public let path: String

    /// Opens or creates the store at `path` and brings its schema up to date.
    /// - Throws: ``StoreError`` when the file cannot be opened or fails SQLite's `quick_check`.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        // Made 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            let check = try database.read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
            guard check == ["ok"] else {
                throw StoreError("\(path) fails SQLite's quick_check: \(check.prefix(3).joined(separator: "; "))")
            }
            try Self.migrator.migrate(database)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("cannot open the job store \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "jobs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("kind", .text).notNull()
                t.column("spec", .text).notNull()
                t.column("dataset", .text)
                t.column("partner", .text).notNull()
                t.column("purpose", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("reason", .text)
                t.column("submittedBy", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("startedAt", .datetime)
                t.column("finishedAt", .datetime)
                t.column("numaNode", .integer)
                t.column("pus", .text)
                t.column("device", .text)
                t.column("rowsRead", .integer).notNull()
                t.column("counters", .text).notNull()
                t.column("resultPath", .text)
                t.column("resultHash", .text)
            }
            try db.create(table: "jobEvents") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("jobId", .integer).notNull().indexed().references("jobs")
                t.column("time", .datetime).notNull()
                t.column("state", .text).notNull()
                t.column("message", .text)
            }
            try db.create(table: "datasets") { t in
                t.primaryKey("name", .text)
                t.column("path", .text).notNull()
                t.column("digestAlgorithm", .text).notNull()
                t.column("digest", .text).notNull()
                t.column("sizeBytes", .integer).notNull()
                t.column("rows", .integer).notNull()
                t.column("columns", .text).notNull()
                t.column("idColumn", .text).notNull()
                t.column("labelColumn", .text)
                t.column("registeredAt", .datetime).notNull()
                t.column("registeredBy", .text).notNull()
            }
            try db.create(table: "grants") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("dataset", .text).notNull().indexed().references("datasets")
                t.column("partner", .text).notNull()
                t.column("purpose", .text).notNull()
                t.column("maxRows", .integer)
                t.column("per", .text)
                t.column("expiresAt", .datetime)
                t.column("createdAt", .datetime).notNull()
                t.column("createdBy", .text).notNull()
            }
            try db.create(table: "usage") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .datetime).notNull().indexed()
                t.column("jobId", .integer).notNull()
                t.column("kind", .text).notNull()
                t.column("dataset", .text)
                t.column("partner", .text).notNull()
                t.column("purpose", .text).notNull()
                t.column("metric", .text).notNull()
                t.column("amount", .double).notNull()
            }
        }
        migrator.registerMigration("v2: grants can be revoked") { db in
            try db.alter(table: "grants") { t in
                t.add(column: "revokedAt", .datetime)
                t.add(column: "revokedBy", .text)
            }
        }
        migrator.registerMigration("v3: the audit log's high-water mark") { db in
            try db.create(table: "auditMark") { t in
                t.column("id", .integer).primaryKey().check { $0 == 1 }
                t.column("seq", .integer).notNull()
                t.column("hash", .text).notNull()
                t.column("time", .datetime).notNull()
            }
        }
        return migrator
    }

    // MARK: Jobs

    /// Stores a new job and its first event in one transaction.
    public func insert(job: JobRecord) throws -> JobRecord {
        try database.write { db in
            var job = job
            try job.insert(db)
            var event = JobEvent(id: nil, jobId: job.id!, time: job.createdAt, state: job.state, message: nil)
            try event.insert(db)
            return job
        }
    }

    /// Removes a job that never ran and its events (one whose admission could not be audited), in
    /// one transaction.
    public func remove(unstartedJob id: Int64) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM jobEvents WHERE jobId = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM jobs WHERE id = ? AND startedAt IS NULL", arguments: [id])
        }
    }

    /// Changes a job with `change` and records its new state as an event when it changed, in one
    /// transaction. Returns the job as stored, or nil when there is no such job.
    /// - Parameter usage: records to meter in the same transaction, made from the changed job (a job's
    ///   end and its usage are one write, so no admission sees the job ended but its rows unmetered).
    @discardableResult
    public func update(
        job id: Int64, message: String? = nil, usage: (@Sendable (JobRecord) -> [UsageRecord])? = nil,
        _ change: @Sendable (inout JobRecord) -> Void
    ) throws -> JobRecord? {
        try database.write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return nil }
            let before = job.state
            change(&job)
            try job.update(db)
            if job.state != before {
                var event = JobEvent(id: nil, jobId: id, time: Date(), state: job.state, message: message)
                try event.insert(db)
            }
            for var record in usage?(job) ?? [] { try record.insert(db) }
            return job
        }
    }

    /// Runs `body` in one write transaction: every read through the ``StoreTransaction`` sees the
    /// store as no other write can change it until `body` returns, and its inserts commit together
    /// or not at all (a throw rolls them back). Admission reads usage, reserves rows and inserts the
    /// job this way, so concurrent submissions cannot all pass one quota.
    /// - Warning: `body` holds the store's only writer: keep it short (no file hashing in it).
    public func transaction<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try database.write { db in try body(StoreTransaction(db: db)) }
    }

    public func job(_ id: Int64) throws -> JobRecord? { try database.read { try JobRecord.fetchOne($0, key: id) } }

    public func events(job id: Int64) throws -> [JobEvent] {
        try database.read { try JobEvent.filter(Column("jobId") == id).order(Column("id")).fetchAll($0) }
    }

    /// Jobs, newest first.
    public func jobs(limit: Int = 1000) throws -> [JobRecord] {
        try database.read { try JobRecord.order(Column("id").desc).limit(limit).fetchAll($0) }
    }

    public func jobs(in state: JobState) throws -> [JobRecord] {
        try database.read { try JobRecord.filter(Column("state") == state.rawValue).order(Column("id")).fetchAll($0) }
    }

    // MARK: Datasets and grants

    /// Registers a dataset; a name already taken is refused.
    public func insert(dataset: DatasetRecord) throws {
        try database.write { db in
            guard try DatasetRecord.fetchOne(db, key: dataset.name) == nil else {
                throw StoreError("a dataset named \"\(dataset.name)\" is already registered")
            }
            try dataset.insert(db)
        }
    }

    public func dataset(_ name: String) throws -> DatasetRecord? {
        try database.read { try DatasetRecord.fetchOne($0, key: name) }
    }
    public func datasets() throws -> [DatasetRecord] {
        try database.read { try DatasetRecord.order(Column("name")).fetchAll($0) }
    }

    public func insert(grant: GrantRecord) throws -> GrantRecord {
        try database.write { db in
            var grant = grant
            try grant.insert(db)
            return grant
        }
    }

    /// Marks grant `id` revoked; returns it, or nil when there is no such grant.
    public func revoke(grant id: Int64, by actor: String) throws -> GrantRecord? {
        try database.write { db in
            guard var grant = try GrantRecord.fetchOne(db, key: id) else { return nil }
            guard grant.revokedAt == nil else { return grant }
            grant.revokedAt = Date(); grant.revokedBy = actor
            try grant.update(db)
            return grant
        }
    }

    public func grants(dataset: String? = nil) throws -> [GrantRecord] {
        try database.read { db in
            var request = GrantRecord.order(Column("id"))
            if let dataset { request = request.filter(Column("dataset") == dataset) }
            return try request.fetchAll(db)
        }
    }

    // MARK: Usage

    public func record(usage: [UsageRecord]) throws {
        guard !usage.isEmpty else { return }
        try database.write { db in
            for var record in usage { try record.insert(db) }
        }
    }

    /// Metered records, oldest first, filtered.
    public func usage(dataset: String? = nil, partner: String? = nil, since: Date? = nil) throws -> [UsageRecord] {
        try database.read { db in
            var request = UsageRecord.order(Column("id"))
            if let dataset { request = request.filter(Column("dataset") == dataset) }
            if let partner { request = request.filter(Column("partner") == partner) }
            if let since { request = request.filter(Column("time") >= since) }
            return try request.fetchAll(db)
        }
    }

    /// Rows of `dataset` read for `partner` since `since` (metered, plus running jobs' counts).
    public func rowsRead(dataset: String, partner: String, since: Date) throws -> Int {
        try database.read { db in
            let metered =
                try Double.fetchOne(
                    db,
                    sql:
                        """
                        SELECT COALESCE(SUM(amount), 0) FROM usage WHERE dataset = ? AND partner = ? AND metric = \
                        'rowsRead' AND time >= ?
                        """,
                    arguments: [dataset, partner, since]) ?? 0
            return Int(metered)
        }
    }

    // MARK: The audit log's high-water mark

    /// The newest audit entry recorded (``ArcaAudit/AuditHighWaterMark``): kept here, apart from the
    /// log, so that an older log restored with its head is found out.
    public func highWaterMark() throws -> (seq: Int, hash: String, time: Date)? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash, time FROM auditMark WHERE id = 1").map { row in
                (seq: row["seq"], hash: row["hash"], time: row["time"])
            }
        }
    }

    public func recordHighWaterMark(seq: Int, hash: String) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO auditMark (id, seq, hash, time) VALUES (1, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, time = excluded.time
                    """, arguments: [seq, hash, Date()])
        }
    }

    static func rowsRead(_ db: Database, dataset: String, partner: String, since: Date) throws -> Int {
        let sql =
            "SELECT COALESCE(SUM(amount), 0) FROM usage"
            + " WHERE dataset = ? AND partner = ? AND metric = 'rowsRead' AND time >= ?"
        return Int(try Double.fetchOne(db, sql: sql, arguments: [dataset, partner, since]) ?? 0)
    }

    /// `PRAGMA integrity_check`'s answer: `["ok"]` for a sound file.
    public func integrityCheck() throws -> [String] {
        try database.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
    }
}

/// The store inside one write transaction (``JobStore/transaction(_:)``): reads that no other write
/// can change before the transaction ends, and inserts that commit with it.
public struct StoreTransaction {
    let db: Database

    public func dataset(_ name: String) throws -> DatasetRecord? { try DatasetRecord.fetchOne(db, key: name) }

    public func grants(dataset: String) throws -> [GrantRecord] {
        try GrantRecord.filter(Column("dataset") == dataset).order(Column("id")).fetchAll(db)
    }

    /// Jobs queued or running (admitted and not ended), oldest first.
    public func activeJobs() throws -> [JobRecord] {
        try JobRecord.filter([JobState.queued.rawValue, JobState.running.rawValue].contains(Column("state")))
            .order(Column("id")).fetchAll(db)
    }

    /// Rows of `dataset` metered for `partner` since `since`.
    public func rowsRead(dataset: String, partner: String, since: Date) throws -> Int {
        try JobStore.rowsRead(db, dataset: dataset, partner: partner, since: since)
    }

    /// Stores a new job and its first event.
    public func insert(job: JobRecord) throws -> JobRecord {
        var job = job
        try job.insert(db)
        var event = JobEvent(id: nil, jobId: job.id!, time: job.createdAt, state: job.state, message: nil)
        try event.insert(db)
        return job
    }
}
