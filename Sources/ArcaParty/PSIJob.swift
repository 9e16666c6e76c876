import ArcaAccel
import ArcaAudit
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
/// peer_id_column = "id"           # optional: the peer's id column (default: its dataset's)
/// ```
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
/// `psi.sent`, `psi.received`, `psi.matched`.
public struct PSIJob: JobKind {
    let link: PartyLink?
    let registry: DeviceRegistry?
    public init(link: PartyLink?, registry: DeviceRegistry?) { self.link = link; self.registry = registry }
    public var name: String { "psi" }
    public var readsDataset: Bool { true }

    static let options = ["suite", "peer_dataset", "result_to", "duplicates", "id_column", "peer_id_column", "role", "session"]

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
        if role == "initiator" {
            guard let peer = try string(spec, "peer_dataset") else { throw JobSpecError("spec key options.peer_dataset: missing; name the partner's registered dataset") }
            guard JobSpec.isName(peer) else { throw JobSpecError("spec key options.peer_dataset: \"\(peer.prefix(80))\" is not a name") }
        } else {
            guard try string(spec, "session") != nil else { throw JobSpecError("spec key options.session: a responder job belongs to a link session") }
        }
        let resultTo = try string(spec, "result_to") ?? "both"
        guard ["local", "partner", "both"].contains(resultTo) else { throw JobSpecError("spec key options.result_to: must be local, partner or both, got \"\(resultTo)\"") }
        let duplicates = try string(spec, "duplicates") ?? "reject"
        guard ["reject", "dedupe"].contains(duplicates) else { throw JobSpecError("spec key options.duplicates: must be reject or dedupe, got \"\(duplicates)\"") }
    }

    func string(_ spec: JobSpec, _ key: String) throws -> String? {
        guard let value = spec.options[key] else { return nil }
        guard case .string(let text) = value else { throw JobSpecError("spec key options.\(key): expected a string, got \(value)") }
        return text
    }

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
        let column = try string(spec, "id_column") ?? dataset.idColumn
        var responderChannel: PartyChannel?
        if role == "responder" {
            responderChannel = try link.responderChannel(session: try string(spec, "session")!, peer: spec.partner)
        }
        // Everything local is checked before anything is sent.
        let ids: [String], rows: [[Int]]
        do {
            (ids, rows) = try Self.ids(of: table, column: column, path: dataset.path, duplicates: duplicates)
        } catch {
            responderChannel?.send(refusal: "\(error)")
            throw error
        }
        context.meter(rowsRead: table.rows.count)
        let channel: PartyChannel
        if role == "initiator" {
            var options = ["suite": suite.rawValue, "duplicates": duplicates,
                           "result_to": resultTo == "both" ? "both" : resultTo == "local" ? "partner" : "local"]
            if let peerColumn = try string(spec, "peer_id_column") { options["id_column"] = peerColumn }
            channel = try await link.openJob(peer: spec.partner, kind: name, dataset: try string(spec, "peer_dataset"), purpose: spec.purpose, options: options)
        } else {
            channel = responderChannel!
            // The acceptance comes from the job itself, so that nothing of the protocol can overtake it.
            try channel.send(control: PartyOpenReply(ok: true, job: Int(context.id)))
        }
        let outcome: PSIOutcome
        do {
            outcome = try await PSIProtocol.run(
                channel: channel, ids: ids.map { Array($0.utf8) }, suite: suite, receivesResult: resultTo != "partner",
                peerReceivesResult: resultTo != "local", registry: suite == .dhMODP2048 ? registry : nil,
                compute: { work in try await context.onExecutor { _ in try work() } },
                progress: { counts in
                    context.setCounters(["psi.hashed": Double(counts.hashed), "psi.sent": Double(counts.sent),
                                         "psi.received": Double(counts.received), "psi.matched": Double(counts.matched)])
                })
            channel.close()
        } catch {
            channel.abort("\(error)")
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

/// Starts the responder's side of a job a peer opened: the job is submitted to `runtime` with the
/// peer as actor, so admission applies this appliance's grants; the job itself answers the peer
/// (``PartyOpenReply`` with its id) when it runs, and a refusal is answered here with the reason.
/// - Parameter kinds: the job kinds a peer may start here (each must take `role = "responder"` and
///   `session` options and claim its channel with ``PartyLink/claim(session:)``).
public func serveOpenedJob(runtime: JobRuntime, link: PartyLink, peer: String, open: PartyOpen, channel: PartyChannel,
                           kinds: Set<String> = ["psi"]) async {
    do {
        guard open.type == "job", let session = open.session, let kind = open.kind, let dataset = open.dataset, let purpose = open.purpose else {
            throw PartyError("the opening message needs type job, session, kind, dataset and purpose")
        }
        guard kinds.contains(kind) else {
            throw PartyError("a peer may start only \(kinds.sorted().joined(separator: ", ")) jobs here, not \"\(kind.prefix(64))\"")
        }
        func quoted(_ text: String) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            return String(decoding: try encoder.encode(text), as: UTF8.self)
        }
        var text = "kind = \(try quoted(kind))\ndataset = \(try quoted(dataset))\npartner = \(try quoted(peer))\npurpose = \(try quoted(purpose))\n[options]\n"
        var options = open.options ?? [:]
        options["role"] = "responder"
        options["session"] = session
        for (key, value) in options.sorted(by: { $0.key < $1.key }) {
            guard JobSpec.isName(key) else { throw PartyError("option name \"\(key.prefix(40))\" is not a name") }
            text += "\(key) = \(try quoted(value))\n"
        }
        link.park(session: session, channel: channel)
        do {
            // The job answers the peer when it runs (see PSIJob.run).
            _ = try runtime.submit(specText: text, actor: AuditActor(partner: peer))
        } catch {
            _ = link.claim(session: session)
            throw error
        }
    } catch {
        channel.send(refusal: "\(error)")
    }
}

extension PartyChannel {
    /// Answers an opening message with a refusal and closes.
    func send(refusal reason: String) {
        try? send(control: PartyOpenReply(ok: false, reason: reason))
        close()
    }
}

extension PartyLink {
    /// The requester's side of starting a two-party job: connects to `peer`, sends the opening
    /// (`PartyOpen` with a fresh session), and waits up to 600 s for the peer's job to accept.
    /// - Throws: ``PartyError`` with the peer's refusal (its rule and reason), or the link's error;
    ///   the channel is closed or aborted then.
    public func openJob(peer: String, kind: String, dataset: String?, purpose: String, options: [String: String]) async throws -> PartyChannel {
        let channel = try await connect(to: peer)
        try channel.send(control: PartyOpen(type: "job", session: UUID().uuidString, kind: kind, dataset: dataset, purpose: purpose, options: options))
        let reply: PartyOpenReply
        do { reply = try await channel.receive(control: PartyOpenReply.self, timeout: .seconds(600)) } catch {
            channel.abort("\(error)"); throw error
        }
        guard reply.ok else {
            channel.close()
            throw PartyError("peer \(peer) refused: \(reply.reason ?? "no reason given")")
        }
        return channel
    }

    /// The responder's channel, parked by ``serveOpenedJob(runtime:link:peer:open:channel:kinds:)`` under `session`.
    /// - Throws: ``PartyError`` when no such session waits (a responder job is started only by the link).
    public func responderChannel(session: String, peer: String) throws -> PartyChannel {
        guard let parked = claim(session: session) else {
            throw PartyError("no link session \(session) from \(peer): a responder job is started only by the party link")
        }
        return parked
    }
}
