import ArcaAPI
import ArcaPSI
import ArcaParty
import ArcaSystem
import Foundation
import Synchronization
import Testing

/// A real host arcad (bank-b) against a peer that opens jobs in bulk or floods its party port
/// (issue 13, leaks 6 and 7). The peer is test code holding bank-a's pinned certificate.
@Suite("Limits against a flooding peer", .serialized)
struct LimitsTests {
    func hostileLink(_ pair: PartyPair) throws -> PartyLink {
        try PartyLink(
            settings: PartySettings(
                name: "bank-a", listen: nil, certificateFile: pair.directory + "/bank-a.pem",
                keyFile: pair.directory + "/bank-a.key", heartbeatSeconds: 5,
                peers: [
                    PartyPeer(
                        name: "bank-b", address: "127.0.0.1:\(pair.portB)",
                        certificateFile: pair.directory + "/bank-b.pem")
                ]),
            audit: nil)
    }

    /// 8 PSI jobs opened at once by one peer against a grant of one job's rows (569) per day:
    /// exactly one is accepted and runs; the 7 others are refused.
    @Test func eightConcurrentPSIOpeningsAgainstAQuotaOfOneJobsRowsRunExactlyOne() async throws {
        let pair = try PartyPair()
        pair.daemonB = try pair.b.start()
        defer { pair.daemonB?.stop() }
        try pair.register(pair.b, "host", file: "breast_hetero_host.csv", grant: false)
        let granted = try pair.b.ctl([
            "dataset", "grant", "host", "--partner", "bank-a", "--purpose", "psi", "--max-rows", "569",
            "--per", "day",
        ])
        try #require(granted.status == 0, "\(granted.stderr)")
        let link = try hostileLink(pair)
        let outcomes = await withTaskGroup(of: Result<PartyChannel, any Error>.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        return .success(
                            try await link.openJob(
                                peer: "bank-b", kind: "psi", dataset: "host", purpose: "psi",
                                options: ["suite": .string("ecdh-25519"), "result_to": .string("both")]))
                    } catch { return .failure(error) }
                }
            }
            var all: [Result<PartyChannel, any Error>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let accepted = outcomes.compactMap { try? $0.get() }
        #expect(accepted.count == 1, "\(outcomes.map { "\($0)" })")
        #expect(outcomes.filter { if case .failure = $0 { true } else { false } }.count == 7)
        // The one accepted runs to its end.
        let channel = try #require(accepted.first)
        let text = try String(contentsOfFile: JobFixture.data + "/breast_hetero_guest.csv", encoding: .utf8)
        let ids = text.split(separator: "\n").dropFirst().map { Array($0.split(separator: ",")[0].utf8) }
        let outcome = try await PSIProtocol.run(
            channel: channel, ids: ids, suite: .ecdh25519, receivesResult: true,
            peerReceivesResult: true, registry: nil, compute: { try $0() })
        #expect(outcome.matched?.count == 569)
        let jobs = try pair.b.json(JobListResponse.self, ["job", "list"]).jobs
        #expect(jobs.count == 1, "\(jobs.map { "\($0.id) \($0.state)" })")
        let done = try pair.b.wait(job: try #require(jobs.first).id, timeout: 60) {
            ["succeeded", "failed"].contains($0.state)
        }
        #expect(done.state == "succeeded", "\(done.reason ?? "")")
        let audit = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries
        #expect(audit.filter { $0.contains("\"refused\"") && $0.contains("rule grant-quota:") }.count == 7)
    }

    /// 150 raw TCP connections to the party port that send garbage or nothing: arcad keeps answering
    /// a pinned peer's probes, cuts silent handshakes at the deadline, and audits the refusals in a
    /// few entries that count them.
    @Test func aFloodOfRawConnectionsLeavesProbesAnsweredAndTheAuditLogSmall() async throws {
        let pair = try PartyPair(
            bParty: "max_pending_handshakes = 8\nhandshake_timeout_seconds = 5\nrefusal_audit_seconds = 2")
        pair.daemonB = try pair.b.start()
        defer { pair.daemonB?.stop() }
        let link = try hostileLink(pair)
        let before = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.count
        let flood = 150
        var descriptors: [Int32] = []
        for index in 0..<flood {
            let descriptor = try TCP.dial(TCPAddress(host: "127.0.0.1", port: UInt16(pair.portB)), timeout: .seconds(5))
            if index % 2 == 0 {
                let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + [UInt8](repeating: 0x16, count: 200)
                _ = garbage.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            }
            descriptors.append(descriptor)
        }
        for _ in 0..<3 {
            let status = await link.probe("bank-b")
            #expect(status.state == "up", "\(status.lastError ?? "")")
        }
        let peers = try pair.b.ctl(["status"])
        #expect(peers.status == 0, "arcad still serves its socket: \(peers.stderr)")
        // The silent connections are cut at the 5 s deadline even though they stay open. (2 s was too
        // short for the probe's own handshake while the whole suite loads 2 cores.)
        try await Task.sleep(for: .seconds(6))
        for descriptor in descriptors { close(descriptor) }
        try await Task.sleep(for: .seconds(3))
        let entries = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.dropFirst(before)
        let refused = entries.filter { $0.contains("party.refused") }
        #expect(!refused.isEmpty && refused.count <= 8, "\(refused.count) entries")
        #expect(entries.count <= 12, "\(entries.count) new audit entries for \(flood) connections")
        let verified = try pair.b.ctl(["audit", "verify"])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
    }
}
