import ArcaAudit
import ArcaStore
import Foundation

/// The rules of admission, in the order they are checked. The raw value is the rule's name in the
/// API's 403 answers and in the audit log.
public enum AdmissionRule: String, Sendable, CaseIterable, Codable {
    /// The spec names a dataset that is not registered.
    case dataset = "dataset"
    /// No grant of the dataset to the spec's partner.
    case grantPartner = "grant-partner"
    /// Grants to the partner, none for the spec's purpose.
    case grantPurpose = "grant-purpose"
    /// Every such grant was revoked.
    case grantRevoked = "grant-revoked"
    /// Every standing grant has expired.
    case grantExpired = "grant-expired"
    /// The job would read more rows today (UTC) than the grant's quota leaves.
    case grantQuota = "grant-quota"
    /// The dataset's file no longer matches its registered digest.
    case datasetChanged = "dataset-changed"
    /// A peer-opened job while the peer already has `[party] max_jobs_per_peer` jobs queued or running.
    case peerJobs = "peer-jobs"
}

/// A job refused at admission: the rule that failed, and a sentence for the operator.
public struct JobRefusal: Error, CustomStringConvertible, Sendable {
    public var rule: AdmissionRule
    public var message: String
    public init(rule: AdmissionRule, message: String) { self.rule = rule; self.message = message }
    public var description: String { "refused by rule \(rule.rawValue): \(message)" }
}

/// A request the runtime cannot do, with the API's status class.
public struct JobRuntimeError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case badRequest, notFound, conflict }
    public var kind: Kind
    public var description: String
    init(_ kind: Kind, _ description: String) { self.kind = kind; self.description = description }
}

extension JobRuntime {
    /// Admits `spec` and stores it `queued`, in one write transaction of the store: the per-peer
    /// limit, the dataset and grant rules, the quota (rows metered today plus the rows every admitted
    /// job that has not ended will read) and the insert of the job — which reserves its rows — are one
    /// step; its `job.submit` audit entry is written right after that step commits (a job whose entry
    /// cannot be written is removed again before it is scheduled). So K concurrent submissions
    /// against a quota of one job's rows admit exactly one. The file's digest is computed before the
    /// transaction (hashing is slow) and compared inside it with the registration as it sees it.
    /// - Parameter peerOpened: a partner opened the job over the link (`actor` is the partner);
    ///   such jobs count against ``maxJobsPerPeer``.
    /// - Throws: ``JobRefusal`` with the rule that failed, errors of the store or the audit log.
    func admitAndInsert(_ spec: JobSpec, kind: any JobKind, actor: AuditActor, peerOpened: Bool) throws -> JobRecord {
        let datasetName = kind.readsDataset ? spec.dataset : nil
        if kind.readsDataset && datasetName == nil {
            throw JobSpecError("spec key dataset: missing; kind \(kind.name) reads a registered dataset")
        }
        // The file must still be the one registered: nothing runs on changed data. (The job checks
        // again when it reads the file, and parses what it hashed.)
        var fingerprint: Result<String, DatasetError>?
        if let datasetName, let dataset = try store.dataset(datasetName) {
            do {
                fingerprint = .success(try verifiedFile(dataset).digest)
            } catch let error as DatasetError {
                fingerprint = .failure(error)
            }
        }
        let maxJobsPerPeer = self.maxJobsPerPeer
        let job = try store.transaction { transaction in
            var planned = 0
            if peerOpened {
                let active = try transaction.activeJobs().filter { $0.submittedBy == actor.text }.count
                guard active < maxJobsPerPeer else {
                    throw JobRefusal(
                        rule: .peerJobs,
                        message: "partner \(spec.partner) already has \(active) jobs queued or running"
                            + " here; [party] max_jobs_per_peer is \(maxJobsPerPeer)")
                }
            }
            if let datasetName {
                planned = try admit(
                    spec, kind: kind, datasetName: datasetName, fingerprint: fingerprint,
                    in: transaction)
            }
            let record = JobRecord(
                id: nil, kind: spec.kind, spec: spec.text, dataset: spec.dataset,
                partner: spec.partner, purpose: spec.purpose, state: .queued, reason: nil,
                submittedBy: actor.text,
                createdAt: Date(), rowsRead: 0, counters: ["plannedRows": Double(planned)])
            return try transaction.insert(job: record)
        }
        // Audited after the transaction commits: an append also writes the store (the audit log's
        // high-water mark), which must not happen inside the store's own write. A job whose entry
        // cannot be written is removed before the scheduler sees it.
        do {
            try audit.append(
                AuditRecord(
                    action: "job.submit", actor: actor, result: "queued", job: Int(job.id!),
                    datasets: spec.dataset.map { [$0] } ?? [],
                    detail: "kind \(spec.kind), partner \(spec.partner), purpose \(spec.purpose)"))
        } catch {
            try? store.remove(unstartedJob: job.id!)
            throw error
        }
        return job
    }

    /// Checks the dataset and the grants inside `transaction`; returns the rows the job will read.
    /// - Parameter fingerprint: the file's digest as computed before the transaction (nil when the
    ///   dataset was not registered then).
    func admit(
        _ spec: JobSpec, kind: any JobKind, datasetName: String, fingerprint: Result<String, DatasetError>?,
        in store: StoreTransaction
    ) throws -> Int {
        guard let dataset = try store.dataset(datasetName) else {
            throw JobRefusal(rule: .dataset, message: "no dataset named \"\(datasetName)\" is registered")
        }
        let grants = try store.grants(dataset: dataset.name)
        let forPartner = grants.filter { $0.partner == spec.partner }
        guard !forPartner.isEmpty else {
            let partners = Set(grants.map(\.partner)).sorted()
            throw JobRefusal(
                rule: .grantPartner,
                message: "dataset \(dataset.name) is not granted to partner \(spec.partner)"
                    + (partners.isEmpty ? " (it has no grants)" : " (granted to \(partners.joined(separator: ", ")))"))
        }
        let forPurpose = forPartner.filter { $0.purpose == spec.purpose }
        guard !forPurpose.isEmpty else {
            throw JobRefusal(
                rule: .grantPurpose,
                message:
                    """
                    dataset \(dataset.name) is granted to partner \(spec.partner) for \
                    \(Set(forPartner.map(\.purpose)).sorted().joined(separator: ", ")), not for \(spec.purpose)
                    """
            )
        }
        let standing = forPurpose.filter { $0.revokedAt == nil }
        guard !standing.isEmpty else {
            let grant = forPurpose.max { $0.revokedAt! < $1.revokedAt! }!
            throw JobRefusal(
                rule: .grantRevoked,
                message:
                    """
                    the grant of dataset \(dataset.name) to partner \(spec.partner) for \(spec.purpose) was \
                    revoked at \(AuditLog.timestamp(grant.revokedAt!)) by \(grant.revokedBy ?? "?")
                    """
            )
        }
        let now = Date()
        let live = standing.filter { $0.expiresAt.map { $0 > now } ?? true }
        guard !live.isEmpty else {
            let last = standing.compactMap(\.expiresAt).max()!
            throw JobRefusal(
                rule: .grantExpired,
                message:
                    """
                    the grant of dataset \(dataset.name) to partner \(spec.partner) for \(spec.purpose) expired \
                    at \(AuditLog.timestamp(last))
                    """
            )
        }
        let rows = kind.rowsToRead(spec, dataset: dataset)
        if !live.contains(where: { $0.maxRows == nil }) {
            let quota = live.compactMap(\.maxRows).max()!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let day = calendar.startOfDay(for: now)
            // Metered today, plus all that admitted jobs that have not ended will read (a job's rows
            // are metered when it ends).
            let pending = try store.activeJobs()
            let reserved = pending.filter { $0.dataset == dataset.name && $0.partner == spec.partner }
                .reduce(0) { $0 + Int($1.counters["plannedRows"] ?? 0) }
            let used = try store.rowsRead(dataset: dataset.name, partner: spec.partner, since: day) + reserved
            guard used + rows <= quota else {
                throw JobRefusal(
                    rule: .grantQuota,
                    message:
                        """
                        the job would read \(rows) rows of dataset \(dataset.name) for partner \(spec.partner); \
                        \(used) of the \(quota) rows per day are already used (UTC day from \
                        \(AuditLog.timestamp(day)))
                        """
                )
            }
        }
        // The file must still be the one registered: nothing runs on changed data. (The job checks
        // again when it reads the file, and parses what it hashed.)
        switch fingerprint {
        case .success(let digest) where digest == dataset.digest:
            return rows
        case .failure(let error):
            throw JobRefusal(rule: .datasetChanged, message: error.description)
        default:
            throw JobRefusal(
                rule: .datasetChanged,
                message: "dataset \(dataset.name): its registration changed while the job was admitted;"
                    + " submit it again")
        }
    }
}
