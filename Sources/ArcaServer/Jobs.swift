import ArcaAPI
import ArcaAccel
import ArcaAudit
import ArcaIV
import ArcaJobKinds
import ArcaParty
import ArcaCrypto
import ArcaExecutors
import ArcaRuntime
import ArcaStore
import Foundation
import HTTPTypes
import Hummingbird

/// The job store, the audit log and the job runtime, opened under the state directory:
/// `<state>/arca.db`, `<state>/audit/` (log, signed head, `appliance.key` mode 0600),
/// `<state>/results/`.
public final class JobServices: Sendable {
    public let runtime: JobRuntime
    public var store: JobStore { runtime.store }
    public var audit: AuditLog { runtime.audit }
    /// The party link to partner appliances, when `[party]` configures one and it could be opened.
    public let party: PartyLink?
    /// Why the configured party link is not available.
    public let partyProblem: String?

    /// Opens everything, recovers jobs interrupted by the last stop and starts the party link.
    /// - Throws: when a file cannot be opened or the store is corrupt, with the path.
    public init(config: ArcadConfig, pool: ExecutorPool, registry: DeviceRegistry? = nil) throws {
        let state = config.stateDirectory
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        let digest = config.auditDigest
        let audit = try AuditLog(directory: state + "/audit", keyPath: state + "/audit/appliance.key", digest: digest,
                                 checkpointEvery: config.auditCheckpointEvery,
                                 signature: config.auditSignature)
        let store = try JobStore(path: state + "/arca.db")
        var party: PartyLink?, problem: String?
        if let settings = config.partySettings {
            do { party = try PartyLink(settings: settings, audit: audit) } catch { problem = "party link unavailable: \(error)" }
        }
        runtime = try JobRuntime(store: store, audit: audit, pool: pool, kinds: JobKinds.all(link: party, registry: registry, ivLimits: config.ivLimits),
                                 resultsDirectory: state + "/results", digest: digest,
                                 maxRunning: config.maxRunningJobs, maxJobsPerPeer: config.partyMaxJobsPerPeer)
        try runtime.recover()
        if let party {
            let runtime = self.runtime
            do {
                try party.start { peer, open, channel in
                    PeerJobs.serve(runtime: runtime, link: party, peer: peer, open: open, channel: channel)
                }
            } catch {
                problem = "party link not listening: \(error)"
            }
        }
        self.party = party
        partyProblem = problem
    }
}

extension DaemonState {
    /// Records a management action that is not a job's (log level, bench) in the audit log, with
    /// the caller as its actor. A failure to write is logged: the action has happened.
    func audit(_ context: ArcaRequestContext, _ action: String, detail: String) {
        guard case .success(let services) = jobs else { return }
        do {
            try services.audit.append(AuditRecord(action: action, actor: context.caller?.actor ?? .daemon, result: "ok", detail: detail))
        } catch {
            context.logger.error("audit: cannot record \(action): \(error)")
        }
    }

    /// Records an action that must not happen unaudited (HE operations): its entry is written or the
    /// request fails — 503 when the audit log is not open, 500 when the entry cannot be written — so
    /// no result leaves arcad without its audit entry.
    /// - Parameter result: `ok`, or `failed` for an operation that failed (audited as well).
    func auditOrFail(_ context: ArcaRequestContext, _ action: String, result: String = "ok", detail: String) throws {
        let services = try jobServices()
        do {
            try services.audit.append(AuditRecord(action: action, actor: context.caller?.actor ?? .daemon,
                                                  result: result, detail: detail))
        } catch {
            context.logger.error("audit: cannot record \(action): \(error)")
            throw APIError(.internalServerError, code: "audit",
                           "\(action) is not done: its audit entry cannot be written: \(error)")
        }
    }

    /// The job services, or 503 with the reason they could not be opened.
    func jobServices() throws -> JobServices {
        switch jobs {
        case .success(let services): return services
        case .failure(let error): throw APIError(.serviceUnavailable, code: "unavailable", "jobs, datasets and audit are unavailable: \(error)")
        }
    }
}

/// The routes of jobs, datasets, grants, usage and the audit log.
func addJobRoutes(to router: Routes, state: DaemonState) {
    let limit = state.config.maxBodyBytes
    @Sendable func actor(_ context: ArcaRequestContext) -> AuditActor { context.caller?.actor ?? .daemon }
    @Sendable func jobID(_ context: ArcaRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else { throw APIError(.badRequest, code: "badRequest", "job id must be a positive integer, got \"\(clip(text))\"") }
        return id
    }
    @Sendable func response(_ job: JobRecord, _ services: JobServices) throws -> JobResponse {
        let events = try services.store.events(job: job.id!)
        return JobResponse(job, events: events)
    }

    router.post("/v1/jobs") { request, context in
        let services = try state.jobServices()
        let body = try await decodeBody(JobSubmitRequest.self, request: request, limit: limit)
        let job = try mapErrors { try services.runtime.submit(specText: body.spec, actor: actor(context)) }
        return try JSONBody(try response(job, services), status: .created)
    }
    router.get("/v1/jobs") { _, _ in
        let services = try state.jobServices()
        return try JSONBody(JobListResponse(jobs: try services.store.jobs().map { try response($0, services) }))
    }
    router.get("/v1/jobs/:id") { _, context in
        let services = try state.jobServices()
        let id = try jobID(context)
        guard let job = try services.store.job(id) else { throw APIError(.notFound, code: "notFound", "no job \(id)") }
        return try JSONBody(try response(job, services))
    }
    router.post("/v1/jobs/:id/cancel") { _, context in
        let services = try state.jobServices()
        let id = try jobID(context)
        let job = try mapErrors { try services.runtime.cancel(id, actor: actor(context)) }
        return try JSONBody(try response(job, services))
    }
    router.get("/v1/jobs/:id/result") { _, context in
        let services = try state.jobServices()
        let id = try jobID(context)
        let (job, data) = try mapErrors { try services.runtime.result(id) }
        return try JSONBody(JobResultResponse(id: Int(id), digest: services.runtime.digest.name, resultHash: job.resultHash ?? "",
                                              content: String(decoding: data, as: UTF8.self)))
    }

    router.post("/v1/datasets") { request, context in
        let services = try state.jobServices()
        let body = try await decodeBody(DatasetAddRequest.self, request: request, limit: limit)
        let dataset = try mapErrors {
            try services.runtime.registerDataset(name: body.name, path: body.path, idColumn: body.idColumn, labelColumn: body.labelColumn, actor: actor(context))
        }
        return try JSONBody(DatasetResponse(dataset), status: .created)
    }
    router.get("/v1/datasets") { _, _ in
        try JSONBody(DatasetListResponse(datasets: try state.jobServices().store.datasets().map(DatasetResponse.init)))
    }
    router.get("/v1/datasets/:name") { _, context in
        let name = context.parameters.get("name") ?? ""
        guard let dataset = try state.jobServices().store.dataset(name) else {
            throw APIError(.notFound, code: "notFound", "no dataset named \"\(clip(name))\"")
        }
        return try JSONBody(DatasetResponse(dataset))
    }

    router.post("/v1/grants") { request, context in
        let services = try state.jobServices()
        let body = try await decodeBody(GrantRequest.self, request: request, limit: limit)
        let expires = try body.expiresAt.map { text in
            guard let date = parseTime(text) else {
                throw APIError(.badRequest, code: "badRequest", "expiresAt: expected an ISO 8601 date or time (2027-01-31 or 2027-01-31T18:00:00Z), got \"\(clip(text))\"")
            }
            return date
        }
        let grant = try mapErrors {
            try services.runtime.grant(dataset: body.dataset, partner: body.partner, purpose: body.purpose, maxRows: body.maxRows,
                                       per: body.per, expiresAt: expires, actor: actor(context))
        }
        return try JSONBody(GrantResponse(grant), status: .created)
    }
    router.post("/v1/grants/:id/revoke") { _, context in
        let services = try state.jobServices()
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else { throw APIError(.badRequest, code: "badRequest", "grant id must be a positive integer, got \"\(clip(text))\"") }
        let grant = try mapErrors { try services.runtime.revoke(grant: id, actor: actor(context)) }
        return try JSONBody(GrantResponse(grant))
    }
    router.get("/v1/grants") { request, _ in
        let dataset = request.uri.queryParameters.get("dataset")
        return try JSONBody(GrantListResponse(grants: try state.jobServices().store.grants(dataset: dataset).map(GrantResponse.init)))
    }

    router.get("/v1/peers") { _, _ in
        let services = try state.jobServices()
        guard let party = services.party else {
            return try JSONBody(PeersResponse(name: nil, listen: nil, certificateSHA256: nil,
                                              problem: services.partyProblem ?? "no party link: [party] sets no name, certificate and key", peers: []))
        }
        let statuses = await party.probeAll()
        return try JSONBody(PeersResponse(
            name: party.settings.name, listen: party.settings.listen,
            certificateSHA256: party.certificateSHA256, problem: services.partyProblem,
            peers: statuses.map { status in
                PeersResponse.Peer(name: status.name, address: status.address, certificateSHA256: status.certificateSHA256, state: status.state,
                                   openChannels: status.openChannels, lastContact: status.lastContact.map { ISO8601DateFormatter().string(from: $0) },
                                   lastError: status.lastError, roundTripMilliseconds: status.roundTripMilliseconds)
            }))
    }
    router.get("/v1/usage") { request, _ in
        let query = request.uri.queryParameters
        let since = try query.get("since").map { text in
            guard let date = parseTime(text) else { throw APIError(.badRequest, code: "badRequest", "since: expected an ISO 8601 date or time, got \"\(clip(text))\"") }
            return date
        }
        let records = try state.jobServices().store.usage(dataset: query.get("dataset"), partner: query.get("partner"), since: since)
        var totals: [String: UsageResponse.Total] = [:]
        for record in records {
            let key = "\(record.dataset ?? "")\u{0}\(record.partner)\u{0}\(record.metric)"
            totals[key, default: .init(dataset: record.dataset, partner: record.partner, metric: record.metric, amount: 0)].amount += record.amount
        }
        return try JSONBody(UsageResponse(records: records.map(UsageResponse.Record.init),
                                          totals: totals.sorted { $0.key < $1.key }.map(\.value)))
    }

    router.get("/v1/audit") { request, _ in
        let query = request.uri.queryParameters
        let since = try query.get("since").map { text in
            guard let date = parseTime(text) else { throw APIError(.badRequest, code: "badRequest", "since: expected an ISO 8601 date or time, got \"\(clip(text))\"") }
            return date
        }
        let job = try query.get("job").map { text in
            guard let id = Int(text) else { throw APIError(.badRequest, code: "badRequest", "job: expected a job id, got \"\(clip(text))\"") }
            return id
        }
        let entries = try state.jobServices().audit.entries(since: since, job: job)
        return try JSONBody(AuditEntriesResponse(entries: entries.map { String(decoding: $0, as: UTF8.self) }))
    }
    router.get("/v1/audit/verify") { _, _ in
        let audit = try state.jobServices().audit
        let check = audit.verify()
        return try JSONBody(AuditVerifyResponse(ok: check.ok, entries: check.entries, checkpoints: check.checkpoints, firstBadEntry: check.firstBadEntry,
                                                firstBadLine: check.firstBadLine, reason: check.reason, headSeq: check.headSeq,
                                                digest: audit.digest.name, signatureAlgorithm: audit.signatureAlgorithm.rawValue, publicKey: audit.publicKey))
    }
    router.get("/v1/audit/export") { _, _ in
        let audit = try state.jobServices().audit
        let log = (try? Data(contentsOf: URL(fileURLWithPath: audit.logPath))) ?? Data()
        let head = try? String(contentsOfFile: audit.headPath, encoding: .utf8)
        return try JSONBody(AuditExportResponse(digest: audit.digest.name, signatureAlgorithm: audit.signatureAlgorithm.rawValue, publicKey: audit.publicKey,
                                                head: head, log: String(decoding: log, as: UTF8.self)))
    }
}

/// Runs `body`, turning the runtime's errors into API errors: a bad spec or dataset file 400,
/// an admission refusal 403 `refused` (naming the rule), not found 404, a conflict 409.
func mapErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as JobSpecError {
        throw APIError(.badRequest, code: "badSpec", error.description)
    } catch let error as DatasetError {
        throw APIError(.badRequest, code: "badDataset", error.description)
    } catch let error as JobRefusal {
        throw APIError(.forbidden, code: "refused", error.description)
    } catch let error as JobRuntimeError {
        switch error.kind {
        case .badRequest: throw APIError(.badRequest, code: "badRequest", error.description)
        case .notFound: throw APIError(.notFound, code: "notFound", error.description)
        case .conflict: throw APIError(.conflict, code: "conflict", error.description)
        }
    }
}

/// An ISO 8601 time (`2027-01-31T18:00:00Z`, fractional seconds allowed) or a UTC date (`2027-01-31`).
func parseTime(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withFullDate]
    return formatter.date(from: text)
}

func iso(_ date: Date) -> String { AuditLog.timestamp(date) }

extension JobResponse {
    init(_ job: JobRecord, events: [JobEvent]) {
        self.init(id: Int(job.id!), kind: job.kind, state: job.state.rawValue, reason: job.reason, dataset: job.dataset, partner: job.partner,
                  purpose: job.purpose, submittedBy: job.submittedBy, createdAt: iso(job.createdAt), startedAt: job.startedAt.map(iso),
                  finishedAt: job.finishedAt.map(iso), numaNode: job.numaNode, pus: job.pus, device: job.device, rowsRead: job.rowsRead,
                  counters: job.counters, resultPath: job.resultPath, resultHash: job.resultHash, spec: job.spec,
                  events: events.map { Event(time: iso($0.time), state: $0.state.rawValue, message: $0.message) })
    }
}

extension DatasetResponse {
    init(_ dataset: DatasetRecord) {
        self.init(name: dataset.name, path: dataset.path, digestAlgorithm: dataset.digestAlgorithm, digest: dataset.digest, sizeBytes: dataset.sizeBytes,
                  rows: dataset.rows, columns: dataset.columns.map { Column(name: $0.name, type: $0.type, missing: $0.missing) },
                  idColumn: dataset.idColumn, labelColumn: dataset.labelColumn, registeredAt: iso(dataset.registeredAt), registeredBy: dataset.registeredBy)
    }
}

extension GrantResponse {
    init(_ grant: GrantRecord) {
        self.init(id: Int(grant.id!), dataset: grant.dataset, partner: grant.partner, purpose: grant.purpose, maxRows: grant.maxRows, per: grant.per,
                  expiresAt: grant.expiresAt.map(iso), createdAt: iso(grant.createdAt), createdBy: grant.createdBy,
                  revokedAt: grant.revokedAt.map(iso), revokedBy: grant.revokedBy,
                  active: grant.revokedAt == nil && (grant.expiresAt.map { $0 > Date() } ?? true))
    }
}

extension UsageResponse.Record {
    init(_ record: UsageRecord) {
        self.init(time: iso(record.time), jobId: Int(record.jobId), kind: record.kind, dataset: record.dataset, partner: record.partner,
                  purpose: record.purpose, metric: record.metric, amount: record.amount)
    }
}
