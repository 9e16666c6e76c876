import ArcaAPI
import Foundation
import Testing

/// Two arcad processes on loopback — bank-a and bank-b — each with its own socket, state
/// directory, self-signed Ed25519 certificate (made with the openssl CLI) and party port, each
/// pinning the other's certificate. Driven with arcactl only.
final class PartyPair {
    let directory: String
    let a: JobFixture, b: JobFixture
    var daemonA: Daemon?, daemonB: Daemon?
    /// bank-b's party port (a hostile peer in the tests calls it as bank-a).
    let portB: Int

    /// A free TCP port on loopback (bound, read and released).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func makeIdentity(_ name: String, in directory: String) throws {
        let result = try Harness.run(URL(fileURLWithPath: "/usr/bin/openssl"),
                                     ["req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
                                      "-keyout", directory + "/\(name).key", "-out", directory + "/\(name).pem"])
        try #require(result.status == 0, "openssl req: \(result.stderr)")
    }

    /// - Parameter bPinsForA: the certificate bank-b pins for bank-a (default: bank-a's own).
    /// - Parameter openCL: bank-a looks for OpenCL devices (PoCL) too.
    /// - Parameter partyB: more `[party]` keys for bank-b (limits under test).
    init(bPinsForA: String? = nil, openCL: Bool = false, partyB: String = "") throws {
        let directory = try Harness.temporaryDirectory()
        self.directory = directory
        for name in ["bank-a", "bank-b", "stranger"] { try Self.makeIdentity(name, in: directory) }
        let portA = try Self.freePort(), portB = try Self.freePort()
        self.portB = portB
        func party(_ me: String, _ port: Int, _ peer: String, _ peerPort: Int, _ pinned: String,
                   _ extra: String = "") -> String {
            """
            [party]
            name = "\(me)"
            listen = "127.0.0.1:\(port)"
            certificate = "\(directory)/\(me).pem"
            key = "\(directory)/\(me).key"
            heartbeat_seconds = 2
            \(extra)
            [iv]
            key_bits = [1024, 2048, 3072]
            [[party.peers]]
            name = "\(peer)"
            address = "127.0.0.1:\(peerPort)"
            certificate = "\(directory)/\(pinned).pem"

            """
        }
        a = try JobFixture(extraConfig: party("bank-a", portA, "bank-b", portB, "bank-b"), openCL: openCL)
        b = try JobFixture(extraConfig: party("bank-b", portB, "bank-a", portA, bPinsForA ?? "bank-a", partyB))
    }

    func start() throws {
        daemonA = try a.start()
        daemonB = try b.start()
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Registers `file` (under the test data, or an absolute path) as `name` on `side` and grants it to its peer for psi.
    func register(_ side: JobFixture, _ name: String, file: String, idColumn: String = "id", grant: Bool = true) throws {
        let path = file.hasPrefix("/") ? file : JobFixture.data + "/" + file
        let added = try side.ctl(["dataset", "add", name, "--file", path, "--id-column", idColumn, "--timeout", "120"])
        try #require(added.status == 0, "dataset add \(name): \(added.stderr)")
        if grant {
            let granted = try side.ctl(["dataset", "grant", name, "--partner", side === a ? "bank-b" : "bank-a", "--purpose", "psi"])
            try #require(granted.status == 0, "grant \(name): \(granted.stderr)")
        }
    }

    /// Writes a psi spec for bank-a and submits it there.
    func submit(dataset: String, peerDataset: String, suite: String, resultTo: String = "both", duplicates: String? = nil,
                extra: String = "") throws -> JobResponse {
        let path = directory + "/psi-\(UUID().uuidString.prefix(6)).toml"
        try """
        kind = "psi"
        dataset = "\(dataset)"
        partner = "bank-b"
        purpose = "psi"
        [options]
        suite = "\(suite)"
        peer_dataset = "\(peerDataset)"
        result_to = "\(resultTo)"
        \(duplicates.map { "duplicates = \"\($0)\"" } ?? "")
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try a.submit(path)
    }

    /// bank-b's responder job for bank-a's latest job (the newest psi job on bank-b).
    func responderJob(after known: Set<Int> = []) throws -> JobResponse? {
        try b.json(JobListResponse.self, ["job", "list"]).jobs.filter { $0.kind == "psi" && !known.contains($0.id) }.max { $0.id < $1.id }
    }

    func result(_ side: JobFixture, _ id: Int) throws -> [String] {
        let result = try side.json(JobResultResponse.self, ["job", "result", "\(id)", "--timeout", "120"])
        return result.content.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

@Suite("PSI between two appliances end to end", .serialized)
struct PSITests {
    static let suites = ["ecdh-25519", "dh-modp2048", "ecdh-sm2"]

    @Test func breastGuestAndHostIntersectIn569IdsUnderEverySuiteOnBothSides() throws {
        let pair = try PartyPair()
        try pair.start()
        try pair.register(pair.a, "breast-guest", file: "breast_hetero_guest.csv")
        try pair.register(pair.b, "breast-host", file: "breast_hetero_host.csv")
        let peers = try pair.a.json(PeersResponse.self, ["peers"])
        #expect(peers.peers.map(\.state) == ["up"], "\(peers)")
        let table = try pair.a.ctl(["peers"])
        #expect(table.status == 0 && table.stdout.contains("bank-b") && table.stdout.contains("up"))
        var seen: Set<Int> = []
        for suite in Self.suites {
            let job = try pair.submit(dataset: "breast-guest", peerDataset: "breast-host", suite: suite)
            let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
            try #require(done.state == "succeeded", "\(suite): \(done.reason ?? "")")
            #expect(done.counters["psi.matched"] == 569)
            #expect(done.counters["psi.hashed"] == 569 && done.counters["psi.sent"] == 569 && done.counters["psi.received"] == 569)
            let rows = try pair.result(pair.a, job.id)
            #expect(rows.count == 570 && rows[0] == "id,y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9", "\(suite)")
            let responder = try #require(try pair.responderJob(after: seen))
            seen.insert(responder.id)
            let theirs = try pair.b.wait(job: responder.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
            #expect(theirs.state == "succeeded" && theirs.partner == "bank-a" && theirs.submittedBy == "partner bank-a", "\(theirs.reason ?? "")")
            let hostRows = try pair.result(pair.b, responder.id)
            #expect(hostRows.count == 570 && hostRows[0].hasPrefix("id,x0,x1"))
            if suite == "dh-modp2048" { #expect(done.counters.keys.contains { $0.hasPrefix("modexp.") }, "\(done.counters)") }
        }
        // Both sides metered and audited the jobs.
        let usageB = try pair.b.json(UsageResponse.self, ["usage", "--partner", "bank-a"])
        #expect(usageB.totals.contains { $0.metric == "rowsRead" && $0.amount == 569 * 3 })
        let auditB = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.joined(separator: "\n")
        #expect(auditB.contains("\"partner\":\"bank-a\"") && auditB.contains("job.submit"))
    }

    @Test func defaultCreditIntersectsIn30000IdsUnderEverySuite() throws {
        let pair = try PartyPair()
        try pair.start()
        try pair.register(pair.a, "credit-guest", file: "default_credit_hetero_guest.csv")
        try pair.register(pair.b, "credit-host", file: "default_credit_hetero_host.csv")
        for suite in Self.suites {
            let job = try pair.submit(dataset: "credit-guest", peerDataset: "credit-host", suite: suite, resultTo: "local")
            let done = try pair.a.wait(job: job.id, timeout: 300) { ["succeeded", "failed"].contains($0.state) }
            try #require(done.state == "succeeded", "\(suite): \(done.reason ?? "")")
            #expect(done.counters["psi.matched"] == 30000, "\(suite)")
            #expect(try pair.result(pair.a, job.id).count == 30001)
        }
    }

    @Test func partialAndEmptyIntersectionsGiveExactlyTheRightRows() throws {
        let pair = try PartyPair()
        try pair.start()
        let host = try String(contentsOfFile: JobFixture.data + "/breast_hetero_host.csv", encoding: .utf8).split(separator: "\n")
        // Partial: every third host row (190 ids); empty: the host ids with a prefix no guest id has.
        let partial = [host[0]] + host.dropFirst().enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        let disjoint = [host[0]] + host.dropFirst().map { "x" + $0 }
        try (partial.joined(separator: "\n") + "\n").write(toFile: pair.directory + "/partial.csv", atomically: true, encoding: .utf8)
        try (disjoint.joined(separator: "\n") + "\n").write(toFile: pair.directory + "/disjoint.csv", atomically: true, encoding: .utf8)
        try pair.register(pair.a, "breast-guest", file: "breast_hetero_guest.csv")
        try pair.register(pair.b, "partial", file: pair.directory + "/partial.csv")
        try pair.register(pair.b, "disjoint", file: pair.directory + "/disjoint.csv")
        let expectedIds = Set(partial.dropFirst().map { String($0.split(separator: ",")[0]) })
        let job = try pair.submit(dataset: "breast-guest", peerDataset: "partial", suite: "ecdh-25519")
        let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        let rows = try pair.result(pair.a, job.id)
        #expect(rows.count == expectedIds.count + 1)
        #expect(Set(rows.dropFirst().map { String($0.split(separator: ",")[0]) }) == expectedIds)
        // The guest's own rows, in its file's order, unchanged.
        let guest = try String(contentsOfFile: JobFixture.data + "/breast_hetero_guest.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Array(rows.dropFirst()) == guest.dropFirst().filter { expectedIds.contains(String($0.split(separator: ",")[0])) })

        let empty = try pair.submit(dataset: "breast-guest", peerDataset: "disjoint", suite: "ecdh-25519", resultTo: "local")
        let emptyDone = try pair.a.wait(job: empty.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        try #require(emptyDone.state == "succeeded", "\(emptyDone.reason ?? "")")
        #expect(try pair.result(pair.a, empty.id) == [guest[0]])
        #expect(emptyDone.counters["psi.matched"] == 0)
        // result_to = local: bank-b keeps a summary, not rows.
        let responder = try #require(try pair.responderJob())
        let theirs = try pair.b.wait(job: responder.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(theirs.state == "succeeded" && theirs.resultPath?.hasSuffix(".json") == true)
    }

    @Test func fatesRepeatedIdFileUnderBothDuplicatePolicies() throws {
        let pair = try PartyPair()
        try pair.start()
        try pair.register(pair.a, "repeated", file: "breast_hetero_guest_repeated_id.csv", idColumn: "mock_id")
        try pair.register(pair.b, "breast-host", file: "breast_hetero_host.csv")
        let rejected = try pair.submit(dataset: "repeated", peerDataset: "breast-host", suite: "ecdh-25519", duplicates: "reject", extra: "id_column = \"id\"")
        let failed = try pair.a.wait(job: rejected.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(failed.state == "failed")
        #expect(failed.reason?.contains("repeat an id of column id") == true && failed.reason?.contains("on lines") == true, "\(failed.reason ?? "")")
        #expect(failed.counters["psi.sent"] == nil, "nothing is sent before the local checks pass")

        let deduped = try pair.submit(dataset: "repeated", peerDataset: "breast-host", suite: "ecdh-25519", duplicates: "dedupe", extra: "id_column = \"id\"")
        let done = try pair.a.wait(job: deduped.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        #expect(done.counters["psi.sent"] == 569 && done.counters["psi.matched"] == 569)
        #expect(try pair.result(pair.a, deduped.id).count == 2139 + 1)
    }

    @Test func withoutTheGrantThePeersRefusalIsTheJobsError() throws {
        let pair = try PartyPair()
        try pair.start()
        try pair.register(pair.a, "breast-guest", file: "breast_hetero_guest.csv")
        try pair.register(pair.b, "breast-host", file: "breast_hetero_host.csv", grant: false)
        let job = try pair.submit(dataset: "breast-guest", peerDataset: "breast-host", suite: "ecdh-25519")
        let done = try pair.a.wait(job: job.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(done.state == "failed")
        #expect(done.reason?.contains("peer bank-b refused") == true && done.reason?.contains("grant") == true, "\(done.reason ?? "")")
        let auditB = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.joined(separator: "\n")
        #expect(auditB.contains("\"refused\"") && auditB.contains("bank-a"))
    }

    @Test func aPeerWithTheWrongCertificateIsRefusedAndTheRefusalAudited() throws {
        let pair = try PartyPair(bPinsForA: "stranger")
        try pair.start()
        try pair.register(pair.a, "breast-guest", file: "breast_hetero_guest.csv")
        try pair.register(pair.b, "breast-host", file: "breast_hetero_host.csv")
        let job = try pair.submit(dataset: "breast-guest", peerDataset: "breast-host", suite: "ecdh-25519")
        let done = try pair.a.wait(job: job.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(done.state == "failed")
        let auditB = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.joined(separator: "\n")
        #expect(auditB.contains("party.refused") && auditB.contains("pinned for no peer"), "\(auditB.suffix(600))")
        #expect(try pair.b.json(JobListResponse.self, ["job", "list"]).jobs.isEmpty, "no job ran for the stranger")
        // bank-b probing bank-a sees a certificate it does not pin: down, refused, audited.
        let peersB = try pair.b.json(PeersResponse.self, ["peers"])
        #expect(peersB.peers.first?.state == "down")
        let auditAfter = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.joined(separator: "\n")
        #expect(auditAfter.contains("not the one pinned for it"))
    }

    @Test func killingThePeerMidJobFailsTheJobOnBothSidesWithoutAResult() throws {
        let pair = try PartyPair()
        try pair.start()
        try pair.register(pair.a, "credit-guest", file: "default_credit_hetero_guest.csv")
        try pair.register(pair.b, "credit-host", file: "default_credit_hetero_host.csv")
        let job = try pair.submit(dataset: "credit-guest", peerDataset: "credit-host", suite: "dh-modp2048")
        _ = try pair.a.wait(job: job.id, timeout: 120) { ($0.counters["psi.sent"] ?? 0) > 0 || ["succeeded", "failed"].contains($0.state) }
        let responder = try #require(try pair.responderJob())
        kill(pair.daemonB!.process.processIdentifier, SIGKILL)
        pair.daemonB!.process.waitUntilExit()
        let done = try pair.a.wait(job: job.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(done.state == "failed" && done.resultPath == nil, "\(done.reason ?? "")")
        #expect(done.reason?.contains("bank-b") == true, "\(done.reason ?? "")")
        #expect(!FileManager.default.fileExists(atPath: pair.a.state + "/results/job-\(job.id).csv"))
        // bank-b, started again, records its side as failed (interrupted) and has no result either.
        pair.daemonB = try pair.b.start()
        let theirs = try pair.b.json(JobResponse.self, ["job", "show", "\(responder.id)"])
        #expect(theirs.state == "failed" && theirs.reason == "interrupted" && theirs.resultPath == nil)
        #expect(!FileManager.default.fileExists(atPath: pair.b.state + "/results/job-\(responder.id).csv"))
    }
}
