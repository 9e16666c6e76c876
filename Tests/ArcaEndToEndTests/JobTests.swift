import ArcaAPI
import Foundation
import Testing

/// A daemon whose state directory outlives it, so it can be killed and started again on the same
/// store and audit log. OpenCL is off: these tests are about jobs, not devices, and start faster.
final class JobFixture {
    let directory: String
    let state: String
    let config: String
    let socket: String
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data").path

    /// The repository's data/, where the links in `data` lead.
    static let repositoryData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    /// - Parameter openCL: look for OpenCL devices (PoCL); off by default, which keeps start-up fast.
    /// - Parameter datasetRoots: more `[datasets] roots` beside the test data and this fixture's directory.
    init(extraConfig: String = "", openCL: Bool = false, datasetRoots: [String] = []) throws {
        directory = try Harness.temporaryDirectory()
        state = directory + "/state"
        config = directory + "/arcad.toml"
        socket = directory + "/arcad.sock"
        let roots = ([Self.data, Self.repositoryData, directory] + datasetRoots).map { "\"\($0)\"" }
            .joined(separator: ", ")
        try
            ("[state]\ndirectory = \"\(state)\"\n[devices]\nopencl = \(openCL)\n[datasets]\nroots = [\(roots)]\n"
            + extraConfig).write(toFile: config, atomically: true, encoding: .utf8)
    }

    func start() throws -> Daemon { try Daemon(socket: socket, arguments: ["--config", config]) }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// arcactl on this fixture's socket.
    func ctl(_ arguments: [String]) throws -> Harness.Result { try Harness.arcactl(arguments + ["--socket", socket]) }

    func json<T: Decodable>(_ type: T.Type, _ arguments: [String]) throws -> T {
        let result = try ctl(arguments + ["--json"])
        try #require(result.status == 0, "arcactl \(arguments) failed: \(result.stderr)")
        return try JSONDecoder().decode(T.self, from: Data(result.stdout.utf8))
    }

    /// Writes a dataset-stats spec and returns its path.
    func spec(
        _ name: String, dataset: String = "breast", partner: String = "local", purpose: String = "stats",
        options: String = ""
    ) throws -> String {
        let path = directory + "/\(name).toml"
        try """
        kind = \"dataset-stats\"\ndataset = \"\(dataset)\"\npartner = \"\(partner)\"\npurpose = \
        \"\(purpose)\"\n[options]\n\(options)
        """
        .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func submit(_ spec: String) throws -> JobResponse { try json(JobResponse.self, ["job", "submit", spec]) }

    /// Polls the job until `done` holds (at most `timeout` seconds).
    func wait(job id: Int, timeout: Double = 60, until done: (JobResponse) -> Bool) throws -> JobResponse {
        let deadline = Date().addingTimeInterval(timeout)
        var job = try json(JobResponse.self, ["job", "show", "\(id)"])
        while !done(job) && Date() < deadline {
            usleep(50_000)
            job = try json(JobResponse.self, ["job", "show", "\(id)"])
        }
        try #require(done(job), "job \(id) stayed \(job.state) (\(job.reason ?? "")) for \(timeout) s")
        return job
    }

    func registerBreast(name: String = "breast") throws {
        let added = try ctl([
            "dataset", "add", name, "--file", Self.data + "/breast_hetero_guest.csv", "--id-column", "id",
            "--label-column", "y",
        ])
        try #require(added.status == 0, "dataset add: \(added.stderr)")
    }

    func sqliteIntegrity() throws -> String {
        try Harness.run(URL(fileURLWithPath: "/usr/bin/sqlite3"), [state + "/arca.db", "PRAGMA integrity_check;"])
            .stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("jobs, datasets, grants and audit end to end", .serialized)
struct JobTests {
    @Test func submitListShowResultCancelUsageAndAudit() throws {
        let fixture = try JobFixture()
        let daemon = try fixture.start()
        try fixture.registerBreast()
        let datasets = try fixture.json(DatasetListResponse.self, ["dataset", "list"])
        let breast = try #require(datasets.datasets.first)
        #expect(breast.rows == 569 && breast.columns.count == 12 && breast.labelColumn == "y")
        #expect(breast.digest == "6b258b1514181bd645ea37a9ba3795a014075f465dfa51af08ecf19f068baeae")
        #expect(
            try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"]).status == 0)

        let submitted = try fixture.submit(try fixture.spec("fast"))
        #expect(submitted.state == "queued" && submitted.id == 1)
        let done = try fixture.wait(job: 1) { $0.state == "succeeded" }
        #expect(done.rowsRead == 569 && done.numaNode != nil && done.pus?.isEmpty == false && done.resultHash != nil)
        #expect(done.events.map(\.state) == ["queued", "running", "succeeded"])

        // The result, against the mean of x0 computed here from the file.
        let result = try fixture.json(JobResultResponse.self, ["job", "result", "1"])
        let content = try #require(try JSONSerialization.jsonObject(with: Data(result.content.utf8)) as? [String: Any])
        let columns = try #require(content["columns"] as? [[String: Any]])
        let x0 = try #require(columns.first { $0["name"] as? String == "x0" })
        let csv = try String(contentsOfFile: JobFixture.data + "/breast_hetero_guest.csv", encoding: .utf8)
        let values = csv.split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[2])! }
        let mean = values.reduce(0, +) / Double(values.count)
        #expect(abs((x0["mean"] as? Double ?? .nan) - mean) < 1e-9)
        #expect(x0["count"] as? Int == 569)

        // A slow job, cancelled while it runs.
        let slow = try fixture.submit(
            try fixture.spec("slow", options: "rows_per_second = 100\npasses = 50\nchunk_rows = 8\n"))
        _ = try fixture.wait(job: slow.id) { $0.state == "running" && $0.rowsRead > 0 }
        let cancel = try fixture.ctl(["job", "cancel", "\(slow.id)"])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        let cancelled = try fixture.wait(job: slow.id) { $0.state == "cancelled" }
        #expect(cancelled.reason?.hasPrefix("cancelled by uid 0") == true)
        #expect(cancelled.rowsRead > 0 && cancelled.rowsRead < 569 * 50)
        #expect(try fixture.ctl(["job", "cancel", "\(slow.id)"]).status == 1, "an ended job cannot be cancelled")
        #expect(try fixture.ctl(["job", "result", "\(slow.id)"]).stderr.contains("no result"))

        let list = try fixture.json(JobListResponse.self, ["job", "list"])
        #expect(list.jobs.map(\.id) == [2, 1] && list.jobs.map(\.state) == ["cancelled", "succeeded"])
        let table = try fixture.ctl(["job", "list"])
        #expect(table.stdout.contains("cancelled") && table.stdout.contains("succeeded"))
        let show = try fixture.ctl(["job", "show", "1"])
        #expect(show.stdout.contains("EVENTS") && show.stdout.contains("dataset-stats"))

        // Metering: both jobs' rows, and the operations by kind.
        let usage = try fixture.json(UsageResponse.self, ["usage", "--dataset", "breast", "--partner", "local"])
        let rows = usage.totals.first { $0.metric == "rowsRead" }?.amount ?? 0
        #expect(Int(rows) == 569 + cancelled.rowsRead)
        #expect(usage.totals.contains { $0.metric == "stats.values" && $0.amount > 0 })
        #expect(usage.totals.contains { $0.metric == "cpuSeconds" && $0.amount > 0 })
        #expect(try fixture.json(UsageResponse.self, ["usage", "--since", "2999-01-01"]).records.isEmpty)

        // Audit: the job's life, and the chain verifies.
        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show", "--job", "1"])
        #expect(audit.entries.contains { $0.contains("\"action\":\"job.submit\"") })
        #expect(audit.entries.contains { $0.contains("\"result\":\"succeeded\"") && $0.contains(done.resultHash!) })
        let verify = try fixture.ctl(["audit", "verify"])
        #expect(verify.status == 0 && verify.stdout.contains("audit log verifies"), "\(verify.stderr)")
        #expect(daemon.stop() == 0)
    }

    @Test func sm3AndSM2ChosenInTheConfigFingerprintChainSignAndHashResults() throws {
        let fixture = try JobFixture(
            extraConfig: "[audit]\ndigest = \"sm3\"\nsignature = \"sm2\"\ncheckpoint_every = 2\n")
        let daemon = try fixture.start()
        try fixture.registerBreast()
        let dataset = try #require(try fixture.json(DatasetListResponse.self, ["dataset", "list"]).datasets.first)
        // `openssl dgst -sm3 breast_hetero_guest.csv` (OpenSSL 3.0.17).
        #expect(
            dataset.digestAlgorithm == "sm3"
                && dataset.digest == "cad53ae8c1dd74301fe1b4fc702f2b676fff7d955c75012ecf7c056efb8dc24c")
        #expect(
            try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"]).status == 0)
        let job = try fixture.submit(try fixture.spec("sm3"))
        let done = try fixture.wait(job: job.id) { $0.state == "succeeded" }
        let result = try fixture.json(JobResultResponse.self, ["job", "result", "\(job.id)"])
        #expect(
            result.digest == "sm3" && result.resultHash == done.resultHash
                && done.resultPath?.hasPrefix(fixture.state + "/results/") == true)
        let verify = try fixture.json(AuditVerifyResponse.self, ["audit", "verify"])
        #expect(
            verify.ok && verify.digest == "sm3" && verify.signatureAlgorithm == "sm2" && verify.checkpoints >= 3,
            "\(verify)")
        let key = try String(contentsOfFile: fixture.state + "/audit/appliance.key", encoding: .utf8)
        #expect(key.hasPrefix("sm2:"))
        #expect(daemon.stop() == 0)
    }

    @Test func killedWhileAJobRunsTheJobIsInterruptedAndTheStoreIntact() throws {
        let fixture = try JobFixture()
        var daemon = try fixture.start()
        try fixture.registerBreast()
        #expect(
            try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"]).status == 0)
        let spec = try fixture.spec("slow", options: "rows_per_second = 4000\npasses = 100\nchunk_rows = 4\n")
        var earlier: [JobResponse] = []
        for round in 1...10 {
            let job = try fixture.submit(spec)
            _ = try fixture.wait(job: job.id) { $0.state == "running" && $0.rowsRead > 0 }
            usleep(UInt32.random(in: 0...300_000))  // somewhere in the middle of its writes
            kill(daemon.process.processIdentifier, SIGKILL)
            daemon.process.waitUntilExit()
            #expect(try fixture.sqliteIntegrity() == "ok", "round \(round)")
            daemon = try fixture.start()
            let after = try fixture.json(JobResponse.self, ["job", "show", "\(job.id)"])
            #expect(
                after.state == "failed" && after.reason == "interrupted",
                "round \(round): \(after.state) \(after.reason ?? "")")
            #expect(after.events.map(\.state) == ["queued", "running", "failed"])
            // Every earlier record as it was.
            let list = try fixture.json(JobListResponse.self, ["job", "list"])
            for old in earlier {
                #expect(list.jobs.first { $0.id == old.id } == old, "round \(round): job \(old.id) changed")
            }
            earlier.append(after)
            #expect(try fixture.ctl(["audit", "verify"]).status == 0, "round \(round)")
        }
        let usage = try fixture.json(UsageResponse.self, ["usage", "--dataset", "breast"])
        #expect(
            Int(usage.totals.first { $0.metric == "rowsRead" }?.amount ?? 0) == earlier.reduce(0) { $0 + $1.rowsRead })
        #expect(daemon.stop() == 0)
        #expect(try fixture.sqliteIntegrity() == "ok")
    }

    @Test func aCleanStopEndsRunningJobsInterruptedAndKeepsQueuedOnes() throws {
        let fixture = try JobFixture(extraConfig: "[jobs]\nmax_running = 1\n")
        var daemon = try fixture.start()
        try fixture.registerBreast()
        #expect(
            try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"]).status == 0)
        let running = try fixture.submit(try fixture.spec("slow", options: "rows_per_second = 200\n"))
        let queued = try fixture.submit(try fixture.spec("fast"))
        _ = try fixture.wait(job: running.id) { $0.state == "running" && $0.rowsRead > 0 }
        #expect(try fixture.json(JobResponse.self, ["job", "show", "\(queued.id)"]).state == "queued")
        #expect(daemon.stop() == 0)
        daemon = try fixture.start()
        let stopped = try fixture.json(JobResponse.self, ["job", "show", "\(running.id)"])
        #expect(stopped.state == "failed" && stopped.reason == "interrupted" && stopped.rowsRead > 0)
        _ = try fixture.wait(job: queued.id) { $0.state == "succeeded" }
        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show", "--job", "\(running.id)"])
        #expect(audit.entries.contains { $0.contains("interrupted: arcad stopped (SIGTERM)") })
        #expect(try fixture.ctl(["audit", "verify"]).status == 0)
        #expect(daemon.stop() == 0)
    }

    @Test func aStoreThatCannotBeOpenedRunsNoJobAndIsLeftAsItWas() throws {
        let fixture = try JobFixture()
        try FileManager.default.createDirectory(atPath: fixture.state, withIntermediateDirectories: true)
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        FileManager.default.createFile(atPath: fixture.state + "/arca.db", contents: garbage)
        let daemon = try fixture.start()
        let status = try fixture.json(StatusResponse.self, ["status"])
        #expect(status.health.status == "degraded")
        #expect(
            status.health.messages.contains {
                $0.contains("jobs, datasets and audit are unavailable") && $0.contains("arca.db")
            }, "\(status.health.messages)")
        let list = try fixture.ctl(["job", "list"])
        #expect(list.status == 1 && list.stderr.contains("503 unavailable"), "\(list.stderr)")
        let add = try fixture.ctl([
            "dataset", "add", "x", "--file", JobFixture.data + "/breast_hetero_guest.csv", "--id-column", "id",
        ])
        #expect(add.status == 1 && add.stderr.contains("503 unavailable"))
        #expect(
            FileManager.default.contents(atPath: fixture.state + "/arca.db") == garbage, "the store is left as it was")
        #expect(daemon.stop() == 0)
    }

    @Test func jobsOutsideTheirGrantsAreRefusedByRuleAndAudited() throws {
        let fixture = try JobFixture()
        let daemon = try fixture.start()
        try fixture.registerBreast()
        #expect(
            try fixture.ctl([
                "dataset", "grant", "breast", "--partner", "local", "--purpose", "stats", "--max-rows", "1000", "--per",
                "day",
            ]).status == 0)
        #expect(
            try fixture.ctl([
                "dataset", "grant", "breast", "--partner", "bank-b", "--purpose", "psi", "--expires", "2020-01-01",
            ]).status == 0)
        let cases: [(spec: String, rule: String)] = [
            (try fixture.spec("partner", partner: "bank-x"), "grant-partner"),
            (try fixture.spec("purpose", purpose: "iv"), "grant-purpose"),
            (try fixture.spec("expired", partner: "bank-b", purpose: "psi"), "grant-expired"),
            (try fixture.spec("quota", options: "passes = 2\n"), "grant-quota"),
        ]
        for (spec, rule) in cases {
            let refused = try fixture.ctl(["job", "submit", spec])
            #expect(
                refused.status == 1 && refused.stderr.contains("403 refused")
                    && refused.stderr.contains("rule \(rule)"), "\(rule): \(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1)
        }
        // Within the quota once (569 of 1000), then over it (1138): while the first still runs
        // (its rows are reserved), and after it ended (its rows are metered).
        let one = try fixture.submit(try fixture.spec("one", options: "rows_per_second = 400\n"))
        _ = try fixture.wait(job: one.id) { $0.rowsRead >= 200 }
        let meanwhile = try fixture.ctl(["job", "submit", try fixture.spec("one")])
        #expect(
            meanwhile.status == 1 && meanwhile.stderr.contains("rule grant-quota")
                && meanwhile.stderr.contains("569 of the 1000 rows"), "\(meanwhile.stderr)")
        _ = try fixture.wait(job: one.id) { $0.state == "succeeded" }
        let again = try fixture.ctl(["job", "submit", try fixture.spec("one")])
        #expect(
            again.status == 1 && again.stderr.contains("rule grant-quota")
                && again.stderr.contains("569 of the 1000 rows"), "\(again.stderr)")
        #expect(try fixture.json(JobListResponse.self, ["job", "list"]).jobs.count == 1, "refused jobs are not stored")

        // Revoked: refused from then on.
        #expect(try fixture.ctl(["dataset", "grant", "breast", "--partner", "bank-c", "--purpose", "iv"]).status == 0)
        let iv = try fixture.spec("iv", partner: "bank-c", purpose: "iv")
        let admitted = try fixture.submit(iv)
        _ = try fixture.wait(job: admitted.id) { $0.state == "succeeded" }
        let grants = try fixture.json(GrantListResponse.self, ["dataset", "grants", "breast"])
        let bankC = try #require(grants.grants.first { $0.partner == "bank-c" })
        #expect(try fixture.ctl(["dataset", "revoke", "\(bankC.id)"]).status == 0)
        let revoked = try fixture.ctl(["job", "submit", iv])
        #expect(
            revoked.status == 1 && revoked.stderr.contains("rule grant-revoked")
                && revoked.stderr.contains("by uid 0 (root)"), "\(revoked.stderr)")
        #expect(try fixture.ctl(["dataset", "grants"]).stdout.contains("revoked"))

        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show"])
        #expect(audit.entries.contains { $0.contains("\"action\":\"grant.revoke\"") })
        for rule in ["grant-partner", "grant-purpose", "grant-expired", "grant-quota", "grant-revoked"] {
            #expect(
                audit.entries.contains {
                    $0.contains("\"action\":\"job.submit\"") && $0.contains("\"result\":\"refused\"")
                        && $0.contains("rule \(rule)")
                }, "\(rule) not audited")
        }
        #expect(daemon.stop() == 0)
    }

    @Test func badDatasetFilesAreRefusedWithThePlaceAndNothingRegisteredOrRun() throws {
        let fixture = try JobFixture(extraConfig: "[jobs]\nmax_running = 1\n")
        let daemon = try fixture.start()
        let broken = try fixture.ctl([
            "dataset", "add", "broken", "--file", JobFixture.data + "/breast_broken_row.csv", "--id-column", "id",
        ])
        #expect(
            broken.status == 1 && broken.stderr.contains("breast_broken_row.csv:7:")
                && broken.stderr.contains("row has 11 fields; the header has 12"), "\(broken.stderr)")
        let latin1 = try fixture.ctl([
            "dataset", "add", "latin1", "--file", JobFixture.data + "/breast_latin1.csv", "--id-column", "id",
        ])
        #expect(latin1.status == 1 && latin1.stderr.contains("breast_latin1.csv:4:5: not UTF-8"), "\(latin1.stderr)")
        #expect(try fixture.json(DatasetListResponse.self, ["dataset", "list"]).datasets.isEmpty)

        // Changed after registration: refused at use, nothing runs.
        let copy = fixture.directory + "/guest.csv"
        // The fixture is a link into data/: copy the file's bytes, not the link.
        try Data(contentsOf: URL(fileURLWithPath: JobFixture.data + "/breast_hetero_guest.csv")).write(
            to: URL(fileURLWithPath: copy))
        #expect(
            try fixture.ctl(["dataset", "add", "guest", "--file", copy, "--id-column", "id", "--label-column", "y"])
                .status == 0)
        #expect(try fixture.ctl(["dataset", "grant", "guest", "--partner", "local", "--purpose", "stats"]).status == 0)
        // A job admitted while the file was intact, waiting behind another, then the file changes:
        // the job fails when it reads the file, and reads nothing.
        let blocker = try fixture.submit(
            try fixture.spec("blocker", dataset: "guest", options: "rows_per_second = 200\n"))
        let waiting = try fixture.submit(try fixture.spec("waiting", dataset: "guest"))
        #expect(waiting.state == "queued")
        var text = try String(contentsOfFile: copy, encoding: .utf8)
        text = text.replacingOccurrences(of: "133,1,", with: "133,0,")
        try text.write(toFile: copy, atomically: true, encoding: .utf8)
        let changed = try fixture.ctl(["job", "submit", try fixture.spec("changed", dataset: "guest")])
        #expect(
            changed.status == 1 && changed.stderr.contains("rule dataset-changed")
                && changed.stderr.contains("changed since it was registered"), "\(changed.stderr)")
        #expect(
            try fixture.json(JobListResponse.self, ["job", "list"]).jobs.count == 2, "the refused job is not stored")
        #expect(try fixture.ctl(["job", "cancel", "\(blocker.id)"]).status == 0)
        let failed = try fixture.wait(job: waiting.id) { $0.state == "failed" }
        #expect(
            failed.reason?.contains("changed since it was registered") == true && failed.rowsRead == 0,
            "\(failed.reason ?? "")")
        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show"])
        #expect(
            audit.entries.contains {
                $0.contains("dataset.add") && $0.contains("refused") && $0.contains("breast_broken_row.csv:7:")
            })
        #expect(daemon.stop() == 0)
    }

    @Test func tamperingWithTheAuditLogIsFoundAndTheFirstBadEntryNamed() throws {
        let fixture = try JobFixture()
        let daemon = try fixture.start()
        try fixture.registerBreast()
        for purpose in ["stats", "psi", "iv"] {
            #expect(
                try fixture.ctl(["dataset", "grant", "breast", "--partner", "local", "--purpose", purpose]).status == 0)
        }
        let path = fixture.state + "/audit/audit.log"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let lines = original.split(separator: "\n").map(String.init)
        try #require(lines.count >= 5)
        #expect(try fixture.ctl(["audit", "verify"]).status == 0)

        func verify(_ text: String) throws -> Harness.Result {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            return try fixture.ctl(["audit", "verify"])
        }
        // One byte of entry 3.
        var edited = lines
        let line = Array(edited[2].utf8)
        let at = try #require(line.firstIndex(of: UInt8(ascii: "T")))  // inside the time
        var bytes = line
        bytes[at + 1] = bytes[at + 1] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        edited[2] = String(decoding: bytes, as: UTF8.self)
        var result = try verify(edited.joined(separator: "\n") + "\n")
        #expect(
            result.status == 9 && result.stderr.contains("first bad entry 3 (line 3)")
                && result.stderr.contains("altered"), "\(result.stderr)")
        // Entry 3 deleted.
        var deleted = lines
        deleted.remove(at: 2)
        result = try verify(deleted.joined(separator: "\n") + "\n")
        #expect(
            result.status == 9 && result.stderr.contains("first bad entry 3") && result.stderr.contains("missing"),
            "\(result.stderr)")
        // Entries 2 and 3 swapped.
        var swapped = lines
        swapped.swapAt(1, 2)
        result = try verify(swapped.joined(separator: "\n") + "\n")
        #expect(result.status == 9 && result.stderr.contains("first bad entry 2"), "\(result.stderr)")
        // The tail cut.
        result = try verify(lines.dropLast().joined(separator: "\n") + "\n")
        #expect(
            result.status == 9 && result.stderr.contains("first bad entry \(lines.count)")
                && result.stderr.contains("cut"), "\(result.stderr)")
        // Untouched again: verifies.
        result = try verify(original)
        #expect(result.status == 0, "\(result.stderr)")
        let export = try fixture.json(AuditExportResponse.self, ["audit", "export"])
        #expect(export.log == original && export.head != nil && export.publicKey.count == 64)

        // An auditor's copy, checked offline against the pinned key: whole, then with an entry deleted.
        let exported = fixture.directory + "/export.json"
        try Data(try fixture.ctl(["audit", "export"]).stdout.utf8).write(to: URL(fileURLWithPath: exported))
        let offline = try Harness.arcactl(["audit", "verify", "--file", exported, "--public-key", export.publicKey])
        #expect(offline.status == 0 && offline.stdout.contains("audit log verifies"), "\(offline.stderr)")
        var altered = export
        altered.log = deleted.joined(separator: "\n") + "\n"
        try API.encoder().encode(altered).write(to: URL(fileURLWithPath: exported))
        let bad = try Harness.arcactl(["audit", "verify", "--file", exported, "--public-key", export.publicKey])
        #expect(bad.status == 9 && bad.stderr.contains("first bad entry 3"), "\(bad.stderr)")
        let otherKey = try Harness.arcactl([
            "audit", "verify", "--file", exported, "--public-key", String(repeating: "ab", count: 32),
        ])
        #expect(otherKey.status == 9)

        // Altered while arcad was stopped: the next start says so in status, and appending goes on
        // without hiding it.
        #expect(daemon.stop() == 0)
        try (deleted.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let restarted = try fixture.start()
        let status = try fixture.json(StatusResponse.self, ["status"])
        #expect(
            status.health.status == "degraded"
                && status.health.messages.contains { $0.contains("audit log does not verify: first bad entry 3") },
            "\(status.health.messages)")
        result = try fixture.ctl(["audit", "verify"])
        #expect(result.status == 9 && result.stderr.contains("first bad entry 3"), "\(result.stderr)")
        #expect(restarted.stop() == 0)
    }
}
