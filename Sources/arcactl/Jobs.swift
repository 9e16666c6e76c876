import ArcaAPI
import ArcaAudit
import ArcaCrypto
import ArgumentParser
import Foundation

/// `arcactl job …`: submit, list, show, cancel, result.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Submit jobs and follow them: submit SPEC.toml, list, show ID, cancel ID, result ID.",
        discussion: """
            A spec is TOML: kind (e.g. "dataset-stats"), dataset (a registered dataset), partner (whose \
            job it is; "local" by default), purpose (a grant must allow it) and the kind's [options]. \
            A job is admitted only within a grant of its dataset to its partner for its purpose; a refusal \
            names the rule that failed. Jobs are kept across restarts; a job that was running when arcad \
            stopped is failed with reason "interrupted".

            """ + Failure.exitCodeHelp,
        subcommands: [Submit.self, List.self, Show.self, Cancel.self, Result.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit the job described by a TOML spec file.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: ArgumentHelp("The job spec.", valueName: "spec.toml")) var spec: String

        func run() async throws {
            try await runReporting {
                guard let data = FileManager.default.contents(atPath: spec) else {
                    throw Failure.badInput("cannot read the spec file \(spec)")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw Failure.badInput("\(spec) is not UTF-8 text")
                }
                let body = try API.encoder().encode(JobSubmitRequest(spec: text))
                let answer = try await APIClient(options: connection).call(.POST, "/v1/jobs", body: body)
                if connection.json { return printJSON(answer) }
                let job = try decodeAnswer(JobResponse.self, answer)
                print(
                    "job \(job.id) \(job.state): \(job.kind)" + (job.dataset.map { " on \($0)" } ?? "")
                        + " for partner \(job.partner), purpose \(job.purpose)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List jobs, newest first.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await runReporting {
                let (list, data) = try await APIClient(options: connection).get(JobListResponse.self, "/v1/jobs")
                if connection.json { return printJSON(data) }
                print(
                    table(
                        ["ID", "STATE", "KIND", "DATASET", "PARTNER", "PURPOSE", "ROWS", "CREATED", "REASON"],
                        list.jobs.map { job in
                            [
                                "\(job.id)", job.state, job.kind, job.dataset ?? "-", job.partner, job.purpose,
                                "\(job.rowsRead)", job.createdAt, job.reason ?? "",
                            ]
                        }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one job: spec, state changes, placement, counters, result hash.",
            discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Job id.") var id: Int
        func run() async throws {
            try await runReporting {
                let (job, data) = try await APIClient(options: connection).get(JobResponse.self, "/v1/jobs/\(id)")
                if connection.json { return printJSON(data) }
                print(
                    table(
                        ["FIELD", "VALUE"],
                        [
                            ["id", "\(job.id)"], ["kind", job.kind], ["state", job.state],
                            ["reason", job.reason ?? "-"],
                            ["dataset", job.dataset ?? "-"], ["partner", job.partner], ["purpose", job.purpose],
                            ["submitted by", job.submittedBy], ["created", job.createdAt],
                            ["started", job.startedAt ?? "-"],
                            ["finished", job.finishedAt ?? "-"],
                            [
                                "ran on",
                                job.numaNode.map {
                                    "node \($0), PUs \(ranges(job.pus ?? [])), device \(job.device ?? "-")"
                                } ?? "-",
                            ],
                            ["rows read", "\(job.rowsRead)"],
                            [
                                "counters",
                                job.counters.sorted { $0.key < $1.key }.map {
                                    "\($0.key)=\(String(format: "%g", $0.value))"
                                }.joined(separator: " "),
                            ],
                            ["result hash", job.resultHash ?? "-"],
                        ]))
                print("\nEVENTS")
                for event in job.events {
                    print("  \(event.time)  \(event.state)" + (event.message.map { "  \($0)" } ?? ""))
                }
                print(
                    "\nSPEC\n"
                        + job.spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }.joined(
                            separator: "\n"))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a queued or running job.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Job id.") var id: Int
        func run() async throws {
            try await runReporting {
                let data = try await APIClient(options: connection).call(
                    .POST, "/v1/jobs/\(id)/cancel", body: Data("{}".utf8))
                if connection.json { return printJSON(data) }
                let job = try decodeAnswer(JobResponse.self, data)
                print("job \(job.id): \(job.state == "running" ? "cancelling" : job.state)")
            }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a succeeded job's result; --json adds its hash.",
            discussion:
                "A WOE/IV result prints as a table of features by IV (--format json or csv for the file's forms). "
                + Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Job id.") var id: Int
        @Option(help: "For a WOE/IV result: table (default), json or csv.") var format = "table"
        func validate() throws {
            guard ["table", "json", "csv"].contains(format) else {
                throw ValidationError("--format must be table, json or csv")
            }
        }
        func run() async throws {
            try await runReporting {
                let (result, data) = try await APIClient(options: connection).get(
                    JobResultResponse.self, "/v1/jobs/\(id)/result")
                if connection.json { return printJSON(data) }
                guard format != "json",
                    let iv = try? JSONDecoder().decode(IVResultView.self, from: Data(result.content.utf8))
                else {
                    return print(result.content)
                }
                print(format == "csv" ? iv.csv : iv.rendered, terminator: "")
            }
        }
    }
}

/// `arcactl dataset …`: add, list, grant, grants.
struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Register local CSV files as datasets and grant their use: add, list, grant, grants, revoke.",
        discussion: """
            add reads the whole file and verifies every row (UTF-8, RFC 4180 quoting, the header's number \
            of fields, ids present and unique, labels present); a bad file is refused with file:line:column \
            and nothing is registered. The file's digest (sha256 or sm3, [audit] digest) is recorded; a file \
            changed since is refused at use.

            """ + Failure.exitCodeHelp,
        subcommands: [Add.self, List.self, Grant.self, Grants.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a CSV file (read by arcad) as a dataset.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dataset name (letters, digits, . _ -).") var name: String
        @Option(help: ArgumentHelp("The CSV file; a relative path is taken from here.", valueName: "path")) var file:
            String
        @Option(name: .long, help: ArgumentHelp("The column of row ids.", valueName: "column")) var idColumn: String
        @Option(name: .long, help: ArgumentHelp("The column of labels, if any.", valueName: "column")) var labelColumn:
            String?
        func run() async throws {
            try await runReporting {
                let path = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
                let body = try API.encoder().encode(
                    DatasetAddRequest(
                        name: name, path: (path as NSString).standardizingPath, idColumn: idColumn,
                        labelColumn: labelColumn))
                let data = try await APIClient(options: connection).call(.POST, "/v1/datasets", body: body)
                if connection.json { return printJSON(data) }
                let dataset = try decodeAnswer(DatasetResponse.self, data)
                print(
                    """
                    dataset \(dataset.name): \(dataset.rows) rows, \(dataset.columns.count) columns, \
                    \(dataset.digestAlgorithm) \(dataset.digest)
                    """
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List registered datasets.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await runReporting {
                let (list, data) = try await APIClient(options: connection).get(
                    DatasetListResponse.self, "/v1/datasets")
                if connection.json { return printJSON(data) }
                print(
                    table(
                        ["NAME", "ROWS", "COLUMNS", "ID", "LABEL", "DIGEST", "PATH"],
                        list.datasets.map { dataset in
                            [
                                dataset.name, "\(dataset.rows)", "\(dataset.columns.count)", dataset.idColumn,
                                dataset.labelColumn ?? "-",
                                "\(dataset.digestAlgorithm):\(dataset.digest.prefix(16))…", dataset.path,
                            ]
                        }))
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Allow a partner to use a dataset for a purpose, within a daily row quota and until a date.",
            discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dataset name.") var name: String
        @Option(help: ArgumentHelp("The partner (another appliance's name, or local).", valueName: "partner"))
        var partner: String
        @Option(help: ArgumentHelp("The purpose: psi, iv, stats, …", valueName: "purpose")) var purpose: String
        @Option(name: .long, help: ArgumentHelp("At most this many rows read --per period.", valueName: "n"))
        var maxRows: Int?
        @Option(help: ArgumentHelp("The quota's period: day (UTC).", valueName: "period")) var per: String?
        @Option(
            help: ArgumentHelp(
                "The grant ends then: 2027-01-31 (UTC midnight) or 2027-01-31T18:00:00Z.", valueName: "date"))
        var expires: String?

        func validate() throws {
            if (maxRows == nil) != (per == nil) {
                throw ValidationError("--max-rows and --per go together, e.g. --max-rows 1000 --per day")
            }
            if let per, per != "day" { throw ValidationError("--per must be day") }
            if let maxRows, maxRows < 1 { throw ValidationError("--max-rows must be at least 1") }
        }

        func run() async throws {
            try await runReporting {
                let body = try API.encoder().encode(
                    GrantRequest(
                        dataset: name, partner: partner, purpose: purpose, maxRows: maxRows, per: per,
                        expiresAt: expires))
                let data = try await APIClient(options: connection).call(.POST, "/v1/grants", body: body)
                if connection.json { return printJSON(data) }
                let grant = try decodeAnswer(GrantResponse.self, data)
                print(
                    "grant \(grant.id): \(grant.dataset) to \(grant.partner) for \(grant.purpose)"
                        + (grant.maxRows.map { ", at most \($0) rows per \(grant.per ?? "day")" } ?? "")
                        + (grant.expiresAt.map { ", until \($0)" } ?? ""))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a grant: it admits no more jobs (admitted ones run on).", discussion: Failure.exitCodeHelp
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Grant id (arcactl dataset grants).") var id: Int
        func run() async throws {
            try await runReporting {
                let data = try await APIClient(options: connection).call(
                    .POST, "/v1/grants/\(id)/revoke", body: Data("{}".utf8))
                if connection.json { return printJSON(data) }
                let grant = try decodeAnswer(GrantResponse.self, data)
                print("grant \(grant.id) revoked: \(grant.dataset) to \(grant.partner) for \(grant.purpose)")
            }
        }
    }

    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List grants, of one dataset or all.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dataset name.") var name: String?
        func run() async throws {
            try await runReporting {
                let (list, data) = try await APIClient(options: connection).get(
                    GrantListResponse.self, "/v1/grants" + query(["dataset": name]))
                if connection.json { return printJSON(data) }
                print(
                    table(
                        ["ID", "DATASET", "PARTNER", "PURPOSE", "QUOTA", "EXPIRES", "ACTIVE", "BY"],
                        list.grants.map { grant in
                            [
                                "\(grant.id)", grant.dataset, grant.partner, grant.purpose,
                                grant.maxRows.map { "\($0)/\(grant.per ?? "day")" } ?? "-",
                                grant.expiresAt ?? "-",
                                grant.active ? "yes" : grant.revokedAt != nil ? "revoked" : "expired", grant.createdBy,
                            ]
                        }))
            }
        }
    }
}

/// `arcactl usage`: metered use by dataset and partner.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Report metered use: rows read, operations by kind and CPU time, by dataset and partner.",
        discussion: Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this dataset.") var dataset: String?
    @Option(help: "Only this partner.") var partner: String?
    @Option(help: ArgumentHelp("Only from this time on (2026-11-29 or 2026-11-29T12:00:00Z).", valueName: "time"))
    var since: String?
    func run() async throws {
        try await runReporting {
            let (usage, data) = try await APIClient(options: connection).get(
                UsageResponse.self, "/v1/usage" + query(["dataset": dataset, "partner": partner, "since": since]))
            if connection.json { return printJSON(data) }
            print(
                table(
                    ["DATASET", "PARTNER", "METRIC", "AMOUNT"],
                    usage.totals.map { total in
                        [total.dataset ?? "-", total.partner, total.metric, String(format: "%g", total.amount)]
                    }))
            print("\(usage.records.count) metered records from \(Set(usage.records.map(\.jobId)).count) job(s)")
        }
    }
}

/// `arcactl audit …`: verify, show, export.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check and read the tamper-evident audit log: verify, show, export.",
        discussion: """
            Every management action, refusal and job event is an entry chained to the one before by its \
            hash; checkpoints and the head are signed with the appliance's Ed25519 key. verify checks the \
            whole chain and every signature and names the first bad entry (exit 9 when it does not verify). \
            A break arcad found at a start (a head deleted or damaged, an older log restored) is recorded as \
            an audit.break entry, and verify names that entry from then on.

            """ + Failure.exitCodeHelp + " 9 the audit log does not verify.",
        subcommands: [Verify.self, Show.self, Export.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole chain, the checkpoints' and the head's signatures.",
            discussion: """
                Asks arcad, or with --file checks an `arcactl audit export` document here, without a daemon: \
                an auditor's copy, against the appliance's public key given with --public-key (else the \
                key the export names, which proves only that the log is whole and was signed by that key).

                """ + Failure.exitCodeHelp + " 9 the audit log does not verify.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: ArgumentHelp("An `audit export` document to check offline.", valueName: "export.json")) var file:
            String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "With --file: the appliance's public key (hex) the signatures must verify with.", valueName: "hex"))
        var publicKey: String?

        func validate() throws {
            if publicKey != nil && file == nil {
                throw ValidationError("--public-key goes with --file; arcad checks with its own key")
            }
        }

        func offline(_ path: String) throws -> (AuditVerifyResponse, Data) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure.badInput("cannot read \(path)")
            }
            guard let export = try? JSONDecoder().decode(AuditExportResponse.self, from: data) else {
                throw Failure.badInput("\(path) is not an `arcactl audit export` document")
            }
            guard let digest = ["sha256": Digest.sha256, "sm3": Digest.sm3][export.digest],
                let algorithm = SignatureAlgorithm(rawValue: export.signatureAlgorithm)
            else {
                throw Failure.badInput(
                    "\(path): unknown digest \(export.digest) or signature \(export.signatureAlgorithm)")
            }
            let key = publicKey ?? export.publicKey
            guard let keyBytes = hexBytes(key) else { throw Failure.badInput("--public-key must be hex") }
            let head = export.head.flatMap { try? JSONDecoder().decode(AuditHead.self, from: Data($0.utf8)) }
            var check = AuditLog.verify(
                log: Data(export.log.utf8), head: head, publicKey: keyBytes, digest: digest, algorithm: algorithm)
            if check.ok && export.publicKey != key {
                check.ok = false; check.firstBadEntry = 1; check.firstBadLine = 1
                check.reason = "the export names another key than --public-key"
            }
            let response = AuditVerifyResponse(
                ok: check.ok, entries: check.entries, checkpoints: check.checkpoints,
                firstBadEntry: check.firstBadEntry,
                firstBadLine: check.firstBadLine, reason: check.reason, headSeq: check.headSeq, digest: export.digest,
                signatureAlgorithm: export.signatureAlgorithm, publicKey: key)
            return (response, try API.encoder().encode(response))
        }

        func run() async throws {
            try await runReporting {
                let check: AuditVerifyResponse, data: Data
                if let file {
                    (check, data) = try offline(file)
                } else {
                    (check, data) = try await APIClient(options: connection).get(
                        AuditVerifyResponse.self, "/v1/audit/verify")
                }
                if connection.json {
                    printJSON(data)
                } else if check.ok {
                    print(
                        """
                        audit log verifies: \(check.entries) entries, \(check.checkpoints) signed checkpoints, \
                        signed head at entry \(check.headSeq.map(String.init) ?? "-") (\(check.digest), \
                        \(check.signatureAlgorithm) key \(check.publicKey))
                        """
                    )
                }
                if !check.ok {
                    let entry = check.firstBadEntry.map(String.init) ?? "?"
                    let line = check.firstBadLine.map { " (line \($0))" } ?? ""
                    let message =
                        "arcactl: audit log does NOT verify: first bad entry \(entry)\(line): \(check.reason ?? "")\n"
                    FileHandle.standardError.write(Data(message.utf8))
                    throw ExitCode(9)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show entries, oldest first.", discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        @Option(help: ArgumentHelp("Only entries from this time on.", valueName: "time")) var since: String?
        @Option(help: ArgumentHelp("Only entries about this job.", valueName: "id")) var job: Int?
        func run() async throws {
            try await runReporting {
                let (answer, data) = try await APIClient(options: connection).get(
                    AuditEntriesResponse.self, "/v1/audit" + query(["since": since, "job": job.map(String.init)]))
                if connection.json { return printJSON(data) }
                for line in answer.entries {
                    guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                        print("?? \(line)"); continue
                    }
                    func text(_ key: String) -> String { entry[key].map { $0 is NSNull ? "-" : "\($0)" } ?? "-" }
                    let actor = entry["actor"] as? [String: Any] ?? [:]
                    let who =
                        (actor["partner"] as? String).map { "partner \($0)" }
                        ?? "uid \(actor["uid"].map { "\($0)" } ?? "?")"
                        + ((actor["user"] as? String).map { " (\($0))" } ?? "")
                    let datasets = (entry["datasets"] as? [String] ?? []).joined(separator: ",")
                    print(
                        "\(text("seq"))  \(text("time"))  \(who)  \(text("action"))  \(text("result"))"
                            + ((entry["job"] as? Int).map { "  job \($0)" } ?? "")
                            + (datasets.isEmpty ? "" : "  [\(datasets)]")
                            + ((entry["detail"] as? String).map { "  \($0)" } ?? ""))
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the log, its signed head and the public key as one JSON document for an auditor.",
            discussion: Failure.exitCodeHelp)
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await runReporting {
                printJSON(try await APIClient(options: connection).call(.GET, "/v1/audit/export"))
            }
        }
    }
}

/// `?a=1&b=2` of the non-nil values, percent-encoded; "" when none.
func query(_ items: [String: String?]) -> String {
    var components = URLComponents()
    components.queryItems = items.sorted { $0.key < $1.key }.compactMap { key, value in
        value.map { URLQueryItem(name: key, value: $0) }
    }
    guard let items = components.queryItems, !items.isEmpty else { return "" }
    return "?" + (components.percentEncodedQuery ?? "")
}

func decodeAnswer<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw Failure.protocolError("cannot read arcad's answer: \(error)")
    }
}

/// `arcactl peers`: the party link and each peer, probed now.
struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract:
            """
            Show this appliance's party link and each peer's link state (probed now: TLS 1.3 with the pinned \
            certificate, then a ping).
            """,
        discussion: Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions
    func run() async throws {
        try await runReporting {
            let (peers, data) = try await APIClient(options: connection).get(PeersResponse.self, "/v1/peers")
            if connection.json { return printJSON(data) }
            if let name = peers.name {
                print(
                    """
                    this appliance: \(name), listening on \(peers.listen ?? "(nothing: calls out only)"), \
                    certificate sha256 \(peers.certificateSHA256 ?? "?")
                    """
                )
            }
            if let problem = peers.problem { print("problem: \(problem)") }
            guard !peers.peers.isEmpty else { return print("no peers configured") }
            print(
                table(
                    ["PEER", "ADDRESS", "STATE", "RTT", "OPEN", "LAST CONTACT", "PINNED SHA-256", "ERROR"],
                    peers.peers.map { peer in
                        [
                            peer.name, peer.address, peer.state,
                            peer.roundTripMilliseconds.map { String(format: "%.1f ms", $0) } ?? "-",
                            "\(peer.openChannels)", peer.lastContact ?? "-",
                            String(peer.certificateSHA256.prefix(16)) + "…", peer.lastError ?? "-",
                        ]
                    }))
        }
    }
}

/// A WOE/IV job's result as arcactl shows it (the job's JSON: intersection size, features by IV
/// with per-bin counts and WOE, and the stages).
struct IVResultView: Decodable {
    struct Bin: Decodable { var events: Int; var nonEvents: Int; var woe: Double }
    struct Feature: Decodable { var party: String; var feature: String; var iv: Double; var bins: [Bin] }
    struct Stage: Decodable {
        var stage: String; var party: String; var seconds: Double; var numaNode: Int?; var devices: [String];
        var items: Int
    }
    var intersectionSize: Int
    var features: [Feature]
    var stages: [Stage]

    var rendered: String {
        func strength(_ iv: Double) -> String {  // the usual credit-scoring reading of IV
            iv < 0.02
                ? "not useful" : iv < 0.1 ? "weak" : iv < 0.3 ? "medium" : iv < 0.5 ? "strong" : "suspicious (> 0.5)"
        }
        var text = "intersection: \(intersectionSize) ids\n\n"
        text +=
            table(
                ["PARTY", "FEATURE", "IV", "BINS", "EVENTS/NON-EVENTS PER BIN", "READING"],
                features.map { feature in
                    [
                        feature.party, feature.feature, String(format: "%.6f", feature.iv), "\(feature.bins.count)",
                        feature.bins.map { "\($0.events)/\($0.nonEvents)" }.joined(separator: " "),
                        strength(feature.iv),
                    ]
                }) + "\n\n"
        text +=
            table(
                ["STAGE", "PARTY", "SECONDS", "ITEMS", "NUMA NODE", "DEVICES"],
                stages.map { stage in
                    [
                        stage.stage, stage.party, String(format: "%.3f", stage.seconds), "\(stage.items)",
                        stage.numaNode.map(String.init) ?? "-", stage.devices.joined(separator: ","),
                    ]
                }) + "\n"
        return text
    }

    var csv: String {
        var lines = ["party,feature,iv,bin,events,nonEvents,woe"]
        for feature in features {
            for (index, bin) in feature.bins.enumerated() {
                let fields: [String] = [
                    feature.party, feature.feature, "\(feature.iv)", "\(index)", "\(bin.events)", "\(bin.nonEvents)",
                    "\(bin.woe)",
                ]
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
