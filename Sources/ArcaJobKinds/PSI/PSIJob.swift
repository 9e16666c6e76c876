import ArcaAccel
import ArcaAudit
import ArcaPSI
import ArcaParty
import ArcaRuntime
import ArcaStore
import Foundation

/// `kind = "psi"`: private set intersection of this appliance's dataset with a partner's, over the
/// party link.
///
/// ```toml
/// kind = "psi"
/// dataset = "breast-guest"        # this side's registered dataset
/// partner = "bank-b"              # the peer (a [[party.peers]] name)
/// purpose = "psi"                 # always psi: the peer's operator grants its dataset for it
/// [options]
/// suite = "ecdh-25519"            # ecdh-25519 | ecdh-sm2 | dh-modp2048
/// peer_dataset = "breast-host"    # the peer's registered dataset
/// result_to = "both"              # local | partner | both: who gets the rows in the intersection
/// duplicates = "reject"           # reject | dedupe (ids that repeat in a dataset)
/// id_column = "id"                # optional: this side's id column (default: the dataset's)
/// ```
///
/// The peer's id column is the one its operator registered with its dataset: `peer_id_column` is
/// refused, and a responder refuses an opening that names an `id_column` (or any option but
/// `suite`, `result_to` and `duplicates`) with `protocol.badMessage`. A refusal or abort tells the
/// peer a ``PeerCode`` alone; the detail is this job's reason. The peer may declare at most
/// ``PartySettings/maxPeerItems(for:)`` ids (`[party] max_peer_items`); its count is metered as
/// `psi.peerItems`.
///
/// The peer runs its side as its own job (submitted by the link with the peer as actor and
/// `role = "responder"`), admitted only under its operator's grant of `peer_dataset` to this
/// appliance for `psi`; a refusal becomes this job's error. Ids are the id column's UTF-8 strings;
/// an empty id fails the job before anything is sent, naming the line. With `reject`, a repeated
/// id fails the job naming its lines; with `dedupe`, each distinct id takes part once and every row
/// with an id in the intersection is in the result. The peer learns the count of distinct ids,
/// never the count of duplicates.
///
/// The result on a side that receives it is a CSV file: the header and the rows of the local
/// dataset whose ids are in the intersection, in file order (an empty intersection: the header
/// only). A side that does not receive it gets a JSON summary. Counters: `psi.hashed`,
/// `psi.sent`, `psi.received`, `psi.matched`, `psi.peerItems`.
public struct PSIJob: JobKind {
    let link: PartyLink?
    let registry: DeviceRegistry?
    public init(link: PartyLink?, registry: DeviceRegistry?) { self.link = link; self.registry = registry }
    public var name: String { "psi" }
    public var readsDataset: Bool { true }
    public var peerMayOpen: Bool { true }

    static let options = ["suite", "peer_dataset", "result_to", "duplicates", "id_column", "peer_id_column", "role", "session"]
    /// What a peer's opening may set on the responder (with `role` and `session`, set by the link).
    static let peerOptions = ["suite", "result_to", "duplicates", "role", "session"]

    public func validate(_ spec: JobSpec) throws {
        try spec.allowOnly(Self.options)
        guard spec.purpose == "psi" else { throw JobSpecError("spec key purpose: kind psi runs for purpose \"psi\", got \"\(spec.purpose)\"") }
        guard spec.partner != "local" else { throw JobSpecError("spec key partner: kind psi needs a partner appliance (a [[party.peers]] name)") }
        let suite = try string(spec, "suite")
        guard let suite, PSISuite(rawValue: suite) != nil else {
            throw JobSpecError("spec key options.suite: \(suite.map { "\"\($0)\" is not a suite" } ?? "missing"); use \(PSISuite.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let role = try string(spec, "role") ?? "initiator"
        guard ["initiator", "responder"].contains(role) else { throw JobSpecError("spec key options.role: must be initiator or responder, got \"\(role)\"") }
        if spec.options["peer_id_column"] != nil {
            throw JobSpecError(
                "spec key options.peer_id_column: the partner's id column is the one its operator registered with"
                    + " its dataset; a requester cannot choose it")
        }
        if role == "initiator" {
            guard let peer = try string(spec, "peer_dataset") else { throw JobSpecError("spec key options.peer_dataset: missing; name the partner's registered dataset") }
            guard JobSpec.isName(peer) else { throw JobSpecError("spec key options.peer_dataset: \"\(peer.prefix(80))\" is not a name") }
        } else {
            guard try string(spec, "session") != nil else { throw JobSpecError("spec key options.session: a responder job belongs to a link session") }
            for key in spec.options.keys.sorted() where !Self.peerOptions.contains(key) {
                throw JobSpecError(
                    "spec key options.\(key.prefix(40)): a partner's opening may set only suite, result_to and"
                        + " duplicates (the id column is the dataset's registered one)")
            }
        }
        let resultTo = try string(spec, "result_to") ?? "both"
        guard ["local", "partner", "both"].contains(resultTo) else { throw JobSpecError("spec key options.result_to: must be local, partner or both, got \"\(resultTo)\"") }
        let duplicates = try string(spec, "duplicates") ?? "reject"
        guard ["reject", "dedupe"].contains(duplicates) else { throw JobSpecError("spec key options.duplicates: must be reject or dedupe, got \"\(duplicates)\"") }
    }

    func string(_ spec: JobSpec, _ key: String) throws -> String? { try spec.string(key) }

    public func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int { dataset.rows }

    func receivesResult(_ spec: JobSpec) -> Bool { ["local", "both"].contains((try? string(spec, "result_to")) ?? "both") }

    public func resultFileExtension(_ spec: JobSpec) -> String { receivesResult(spec) ? "csv" : "json" }

    /// The distinct ids of `table`'s `column` and, for each, the rows that carry it.
    /// - Throws: ``JobSpecError`` for a missing column, ``DatasetError`` for an empty id (its line)
    ///   or, under `reject`, repeated ids (their lines).
    public static func ids(of table: CSVTable, column: String, path: String, duplicates: String) throws -> (ids: [String], rows: [[Int]]) {
        guard let index = table.header.firstIndex(of: column) else {
            throw JobSpecError("id column \"\(column)\" is not in \(path); its columns are \(table.header.joined(separator: ", "))")
        }
        var position: [String: Int] = [:]
        var ids: [String] = [], rows: [[Int]] = []
        var repeated: [String] = []
        for (row, fields) in table.rows.enumerated() {
            let id = fields[index]
            guard !id.isEmpty else { throw DatasetError(nil, "\(path):\(table.lines[row]): id column \(column) is empty") }
            if let first = position[id] {
                if repeated.count < 5 { repeated.append("\"\(id)\" on lines \(table.lines[rows[first][0]]) and \(table.lines[row])") }
                rows[first].append(row)
            } else {
                position[id] = ids.count
                ids.append(id); rows.append([row])
            }
        }
        if duplicates == "reject", !repeated.isEmpty {
            let total = table.rows.count - ids.count
            throw DatasetError(nil, "\(path): \(total) rows repeat an id of column \(column) (duplicates = \"reject\"): \(repeated.joined(separator: "; "))\(total > repeated.count ? "; …" : ""); use duplicates = \"dedupe\" to take each id once")
        }
        return (ids, rows)
    }

    public func run(_ context: JobContext) async throws -> Data {
        guard let link else { throw PartyError("this arcad has no party link: set [party] in its configuration") }
        let spec = context.spec, table = context.table!, dataset = context.dataset!
        let suite = PSISuite(rawValue: try string(spec, "suite")!)!
        let role = try string(spec, "role") ?? "initiator"
        let resultTo = try string(spec, "result_to") ?? "both"
        let duplicates = try string(spec, "duplicates") ?? "reject"
        // A responder always uses its dataset's registered id column (validate refused a peer's choice).
        let column = role == "responder" ? dataset.idColumn : try string(spec, "id_column") ?? dataset.idColumn
        var responderChannel: PartyChannel?
        if role == "responder" {
            responderChannel = try link.responderChannel(session: try string(spec, "session")!, peer: spec.partner)
        }
        // Everything local is checked before anything is sent.
        let ids: [String], rows: [[Int]]
        do {
            (ids, rows) = try Self.ids(of: table, column: column, path: dataset.path, duplicates: duplicates)
        } catch {
            responderChannel?.send(refusal: .refusedDataset)
            throw error
        }
        context.meter(rowsRead: table.rows.count)
        let channel: PartyChannel
        if role == "initiator" {
            let options: [String: PartyValue] = [
                "suite": .string(suite.rawValue), "duplicates": .string(duplicates),
                "result_to": .string(resultTo == "both" ? "both" : resultTo == "local" ? "partner" : "local"),
            ]
            channel = try await link.openJob(peer: spec.partner, kind: name, dataset: try string(spec, "peer_dataset"), purpose: spec.purpose, options: options)
        } else {
            channel = responderChannel!
            // The acceptance comes from the job itself, so that nothing of the protocol can overtake it.
            // Without this side's job id: the peer would read from it how many jobs this appliance ran
            // (with other partners too). Both jobs carry the same session id.
            try channel.send(control: PartyOpenReply(ok: true))
        }
        let outcome: PSIOutcome
        do {
            outcome = try await PSIProtocol.run(
                channel: channel, ids: ids.map { Array($0.utf8) }, suite: suite, receivesResult: resultTo != "partner",
                peerReceivesResult: resultTo != "local", registry: suite == .dhMODP2048 ? registry : nil,
                maxPeerItems: link.settings.maxPeerItems(for: spec.partner),
                compute: { work in try await context.onExecutor { _ in try work() } },
                progress: { counts in context.setCounters(counts.counters) })
            channel.close()
        } catch {
            channel.abort(PeerCode(for: error))
            throw error
        }
        if !outcome.modExpServed.isEmpty {
            context.meter(Dictionary(uniqueKeysWithValues: outcome.modExpServed.map { ("modexp.\($0.key)", Double($0.value)) }))
        }
        guard let matched = outcome.matched else {
            let summary: [String: String] = ["kind": name, "suite": suite.rawValue, "localItems": "\(outcome.localItems)",
                                             "peerItems": "\(outcome.peerItems)", "result": "kept by \(spec.partner) (result_to = \(resultTo))"]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(summary)
        }
        let selected = matched.flatMap { rows[$0] }.sorted()
        var csv = CSVWriter.line(table.header)
        for row in selected { csv += CSVWriter.line(table.rows[row]) }
        return Data(csv.utf8)
    }
}

/// RFC 4180 lines: fields quoted when they hold a comma, quote or line break.
enum CSVWriter {
    static func line(_ fields: [String]) -> String {
        fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",") + "\n"
    }
}

