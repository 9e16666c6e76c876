import Foundation

// MARK: - /v1/jobs

/// `POST /v1/jobs`: a job spec, as TOML text (`kind`, `dataset`, `partner`, `purpose`, `[options]`).
public struct JobSubmitRequest: Codable, Sendable, Equatable {
    public var spec: String
    public init(spec: String) { self.spec = spec }
}

/// A job as stored. Times are ISO 8601 (UTC); unknown values are `null`.
public struct JobResponse: Codable, Sendable, Equatable {
    public var id: Int
    public var kind: String
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    public var state: String
    /// Why it ended so: `interrupted` (arcad stopped while it ran), `cancelled by …`, the error.
    @Nullable public var reason: String?
    @Nullable public var dataset: String?
    public var partner: String
    public var purpose: String
    public var submittedBy: String
    public var createdAt: String
    @Nullable public var startedAt: String?
    @Nullable public var finishedAt: String?
    /// Where it ran: the NUMA node, the PUs and the device.
    @Nullable public var numaNode: Int?
    @Nullable public var pus: [Int]?
    @Nullable public var device: String?
    public var rowsRead: Int
    /// Operations by kind (`stats.values`, …), `cpuSeconds`, `plannedRows`.
    public var counters: [String: Double]
    /// Where the result file is (under `<state>/results/`); `null` until it succeeded.
    @Nullable public var resultPath: String?
    /// Digest (hex) of the result file; `null` until it succeeded.
    @Nullable public var resultHash: String?
    /// The spec as submitted.
    public var spec: String
    /// Its state changes, oldest first.
    public var events: [Event]

    public struct Event: Codable, Sendable, Equatable {
        public var time: String
        public var state: String
        @Nullable public var message: String?
        public init(time: String, state: String, message: String?) {
            self.time = time; self.state = state; self.message = message
        }
    }

    public init(
        id: Int, kind: String, state: String, reason: String?, dataset: String?, partner: String, purpose: String,
        submittedBy: String,
        createdAt: String, startedAt: String?, finishedAt: String?, numaNode: Int?, pus: [Int]?, device: String?,
        rowsRead: Int,
        counters: [String: Double], resultPath: String?, resultHash: String?, spec: String, events: [Event]
    ) {
        self.id = id; self.kind = kind; self.state = state; self.reason = reason; self.dataset = dataset;
        self.partner = partner
        self.purpose = purpose; self.submittedBy = submittedBy; self.createdAt = createdAt; self.startedAt = startedAt
        self.finishedAt = finishedAt; self.numaNode = numaNode; self.pus = pus; self.device = device;
        self.rowsRead = rowsRead
        self.counters = counters; self.resultPath = resultPath; self.resultHash = resultHash; self.spec = spec;
        self.events = events
    }
}

/// `GET /v1/jobs`: newest first.
public struct JobListResponse: Codable, Sendable, Equatable {
    public var jobs: [JobResponse]
    public init(jobs: [JobResponse]) { self.jobs = jobs }
}

/// `GET /v1/jobs/{id}/result`: the result file's content (JSON text) and its digest.
public struct JobResultResponse: Codable, Sendable, Equatable {
    public var id: Int
    /// `sha256` or `sm3`.
    public var digest: String
    public var resultHash: String
    public var content: String
    public init(id: Int, digest: String, resultHash: String, content: String) {
        self.id = id; self.digest = digest; self.resultHash = resultHash; self.content = content
    }
}

// MARK: - /v1/datasets

/// `POST /v1/datasets`: register the CSV file at `path` (absolute, read by arcad).
public struct DatasetAddRequest: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    public var idColumn: String
    @Nullable public var labelColumn: String?
    public init(name: String, path: String, idColumn: String, labelColumn: String?) {
        self.name = name; self.path = path; self.idColumn = idColumn; self.labelColumn = labelColumn
    }
}

public struct DatasetResponse: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    /// `sha256` or `sm3`.
    public var digestAlgorithm: String
    public var digest: String
    public var sizeBytes: Int
    /// Rows, the header excluded.
    public var rows: Int
    public var columns: [Column]
    public var idColumn: String
    @Nullable public var labelColumn: String?
    public var registeredAt: String
    public var registeredBy: String

    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        /// `number` or `string`.
        public var type: String
        /// Rows with no value in this column.
        public var missing: Int
        public init(name: String, type: String, missing: Int) {
            self.name = name; self.type = type; self.missing = missing
        }
    }

    public init(
        name: String, path: String, digestAlgorithm: String, digest: String, sizeBytes: Int, rows: Int,
        columns: [Column],
        idColumn: String, labelColumn: String?, registeredAt: String, registeredBy: String
    ) {
        self.name = name; self.path = path; self.digestAlgorithm = digestAlgorithm; self.digest = digest;
        self.sizeBytes = sizeBytes
        self.rows = rows; self.columns = columns; self.idColumn = idColumn; self.labelColumn = labelColumn
        self.registeredAt = registeredAt; self.registeredBy = registeredBy
    }
}

public struct DatasetListResponse: Codable, Sendable, Equatable {
    public var datasets: [DatasetResponse]
    public init(datasets: [DatasetResponse]) { self.datasets = datasets }
}

// MARK: - /v1/grants

/// `POST /v1/grants`: allow `partner` to use `dataset` for `purpose`, optionally at most `maxRows`
/// rows `per` day (`"day"`, UTC) and until `expiresAt` (ISO 8601).
public struct GrantRequest: Codable, Sendable, Equatable {
    public var dataset: String
    public var partner: String
    public var purpose: String
    @Nullable public var maxRows: Int?
    @Nullable public var per: String?
    @Nullable public var expiresAt: String?
    public init(dataset: String, partner: String, purpose: String, maxRows: Int?, per: String?, expiresAt: String?) {
        self.dataset = dataset; self.partner = partner; self.purpose = purpose; self.maxRows = maxRows; self.per = per;
        self.expiresAt = expiresAt
    }
}

public struct GrantResponse: Codable, Sendable, Equatable {
    public var id: Int
    public var dataset: String
    public var partner: String
    public var purpose: String
    @Nullable public var maxRows: Int?
    @Nullable public var per: String?
    @Nullable public var expiresAt: String?
    public var createdAt: String
    public var createdBy: String
    /// When and by whom it was revoked; `null` while it stands.
    @Nullable public var revokedAt: String?
    @Nullable public var revokedBy: String?
    /// False once revoked or once `expiresAt` has passed.
    public var active: Bool
    public init(
        id: Int, dataset: String, partner: String, purpose: String, maxRows: Int?, per: String?, expiresAt: String?,
        createdAt: String, createdBy: String, revokedAt: String?, revokedBy: String?, active: Bool
    ) {
        self.revokedAt = revokedAt; self.revokedBy = revokedBy
        self.id = id; self.dataset = dataset; self.partner = partner; self.purpose = purpose; self.maxRows = maxRows;
        self.per = per
        self.expiresAt = expiresAt; self.createdAt = createdAt; self.createdBy = createdBy; self.active = active
    }
}

public struct GrantListResponse: Codable, Sendable, Equatable {
    public var grants: [GrantResponse]
    public init(grants: [GrantResponse]) { self.grants = grants }
}

// MARK: - /v1/usage

/// `GET /v1/usage?dataset=&partner=&since=`: metered records and their totals.
public struct UsageResponse: Codable, Sendable, Equatable {
    public var records: [Record]
    /// Sums by dataset, partner and metric.
    public var totals: [Total]

    public struct Record: Codable, Sendable, Equatable {
        public var time: String
        public var jobId: Int
        public var kind: String
        @Nullable public var dataset: String?
        public var partner: String
        public var purpose: String
        /// `rowsRead`, `cpuSeconds`, or an operation count (`stats.values`, `encryptions`, `modexps`, `ntts`).
        public var metric: String
        public var amount: Double
        public init(
            time: String, jobId: Int, kind: String, dataset: String?, partner: String, purpose: String, metric: String,
            amount: Double
        ) {
            self.time = time; self.jobId = jobId; self.kind = kind; self.dataset = dataset; self.partner = partner;
            self.purpose = purpose
            self.metric = metric; self.amount = amount
        }
    }
    public struct Total: Codable, Sendable, Equatable {
        @Nullable public var dataset: String?
        public var partner: String
        public var metric: String
        public var amount: Double
        public init(dataset: String?, partner: String, metric: String, amount: Double) {
            self.dataset = dataset; self.partner = partner; self.metric = metric; self.amount = amount
        }
    }
    public init(records: [Record], totals: [Total]) { self.records = records; self.totals = totals }
}

// MARK: - /v1/audit

/// `GET /v1/audit?since=&job=`: the entries, each the line exactly as written in the log.
public struct AuditEntriesResponse: Codable, Sendable, Equatable {
    public var entries: [String]
    public init(entries: [String]) { self.entries = entries }
}

/// `GET /v1/audit/verify`: the whole chain, every checkpoint signature and the signed head checked.
public struct AuditVerifyResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    /// Entries that verified before the first problem (all of them when `ok`).
    public var entries: Int
    public var checkpoints: Int
    /// The first bad entry's number and line; `null` when `ok`.
    @Nullable public var firstBadEntry: Int?
    @Nullable public var firstBadLine: Int?
    @Nullable public var reason: String?
    /// The last entry the signed head names.
    @Nullable public var headSeq: Int?
    public var digest: String
    /// `ed25519` or `sm2`.
    public var signatureAlgorithm: String
    /// The appliance's public key (hex): 32 bytes for Ed25519, DER SubjectPublicKeyInfo for SM2.
    public var publicKey: String
    public init(
        ok: Bool, entries: Int, checkpoints: Int, firstBadEntry: Int?, firstBadLine: Int?, reason: String?,
        headSeq: Int?, digest: String,
        signatureAlgorithm: String, publicKey: String
    ) {
        self.signatureAlgorithm = signatureAlgorithm
        self.ok = ok; self.entries = entries; self.checkpoints = checkpoints; self.firstBadEntry = firstBadEntry;
        self.firstBadLine = firstBadLine
        self.reason = reason; self.headSeq = headSeq; self.digest = digest; self.publicKey = publicKey
    }
}

/// `GET /v1/audit/export`: what an auditor needs to check the log away from the appliance.
public struct AuditExportResponse: Codable, Sendable, Equatable {
    public var digest: String
    /// `ed25519` or `sm2`.
    public var signatureAlgorithm: String
    public var publicKey: String
    /// `audit.head` as written; `null` when missing.
    @Nullable public var head: String?
    /// `audit.log` as written.
    public var log: String
    public init(digest: String, signatureAlgorithm: String, publicKey: String, head: String?, log: String) {
        self.signatureAlgorithm = signatureAlgorithm
        self.digest = digest; self.publicKey = publicKey; self.head = head; self.log = log
    }
}
