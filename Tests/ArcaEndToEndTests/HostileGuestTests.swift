import ArcaAPI
import ArcaAccel
import ArcaCrypto
import ArcaHE
import ArcaPSI
import ArcaParty
import ArcaSystem
import ArcaTopology
import Foundation
import Testing

/// A hostile WOE/IV guest against a real arcad host (bank-b): test code that holds bank-a's pinned
/// certificate, speaks the party link over real TLS and the IV job's messages, and deviates from
/// them on purpose (issue 13, leak 2).
@Suite("A hostile WOE/IV guest against a real host", .serialized)
struct HostileGuestTests {
    /// The IV job's messages as the wire carries them (the hostile side writes its own).
    struct NonceMessage: Codable { var nonce: String }
    struct KeyMessage: Codable {
        var n: String
        var count: Int
        var batch: Int
        var proofDigest: String
    }

    /// bank-b only, with the breast host file granted to bank-a for iv; bank-a is the test.
    func host() throws -> (PartyPair, PartyLink) {
        let pair = try PartyPair()
        pair.daemonB = try pair.b.start()
        let host = try pair.b.ctl([
            "dataset", "add", "host", "--file", JobFixture.data + "/breast_hetero_host.csv", "--id-column", "id",
            "--timeout", "300",
        ])
        try #require(host.status == 0, "\(host.stderr)")
        try #require(
            try pair.b.ctl(["dataset", "grant", "host", "--partner", "bank-a", "--purpose", "iv"]).status == 0)
        let link = try hostileRequester(pair)
        return (pair, link)
    }

    /// The guest's ids, aligned with the host by PSI and ordered by id as the job orders them.
    func align(_ channel: PartyChannel) async throws -> [String] {
        let text = try String(contentsOfFile: JobFixture.data + "/breast_hetero_guest.csv", encoding: .utf8)
        let ids = text.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
        let outcome = try await PSIProtocol.run(
            channel: channel, ids: ids.map { Array($0.utf8) }, suite: .ecdh25519, receivesResult: true,
            peerReceivesResult: true, registry: nil, compute: { try $0() })
        return try #require(outcome.matched).map { ids[$0] }.sorted {
            Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
        }
    }

    /// Row i's label is Enc(2^i), each with a proof made by the honest prover claiming bit 1 with the
    /// real randomness (the best a guest without a forgery can do). Row 0 (2^0 = 1) is honest; row 1
    /// is the first lie. The host must refuse with `protocol.badProof` alone, and send no bin sum.
    @Test func aGuestEncryptingTwoToTheIIsRefusedWithBadProofAndGetsNoSums() async throws {
        let (pair, link) = try host()
        defer { pair.daemonB?.stop() }
        let channel = try await link.openJobOnceMore(
            peer: "bank-b", kind: "iv", dataset: "host", purpose: "iv",
            options: [
                "suite": .string("ecdh-25519"), "binning": .string("quantile"), "bins": .int(10),
                "role": .string("host"),
            ])
        let rows = try await align(channel)
        #expect(rows.count == 569)
        let nonce = try await channel.receive(control: NonceMessage.self, timeout: .seconds(120)).nonce
        let key = try PaillierPrivateKey.generate(bits: 1024)
        let publicKey = key.publicKey
        let r = try PaillierEngine.randomness(count: rows.count, key: publicKey)
        let labels = try rows.indices.map { i in
            BigNumber.modMul(
                publicKey.n * BigNumber(1).shiftedLeft(i) + BigNumber(1),
                try BigNumber.modExpConstantTime(r[i], publicKey.n, publicKey.nSquare), publicKey.nSquare)
        }
        let registry = await DeviceRegistry(
            inventory: DeviceInventory.discover(topology: Topology.fallback(), openCL: false), pool: nil,
            calibrate: false)
        var report = PaillierEngine.Report()
        let binding = ZeroOneProof.Binding(context: "arca.iv.v1 labels nonce=\(nonce)")
        let proofs = try await PaillierEngine(registry: registry, preferred: "cpu")
            .proveZeroOne(
                labels, bits: rows.map { _ in true }, witnesses: r, key: publicKey, privateKey: key, binding: binding,
                report: &report)
        let width = (publicKey.nSquare.bitCount + 7) / 8
        let batch = 256
        try channel.send(
            control: KeyMessage(
                n: PaillierInterchange.base64url(publicKey.n), count: rows.count, batch: batch,
                proofDigest: "SHA256"))
        for start in stride(from: 0, to: rows.count, by: batch) {
            var payload: [UInt8] = []
            for i in start..<min(start + batch, rows.count) {
                payload += labels[i].bigEndianBytes(count: width) + proofs[i].bytes(key: publicKey)
            }
            try channel.send(PartyFrame(.data, payload))
        }
        // Everything the host sends from here on: it must end in the fixed code, with no sums before it.
        var received: [PartyFrame] = []
        var ending = ""
        do {
            while true { received.append(try await channel.receive(timeout: .seconds(300))) }
        } catch { ending = "\(error)" }
        #expect(ending.hasSuffix("aborted: protocol.badProof"), "\(ending)")
        let bytes = received.flatMap(\.payload)
        #expect(received.isEmpty, "the host sent \(received.count) frames (\(bytes.count) bytes) after the labels")
        #expect(!String(decoding: bytes, as: UTF8.self).contains("sums") && !ending.contains("row"))
        // The host's own job names the row.
        let job = try #require(try pair.b.json(JobListResponse.self, ["job", "list"]).jobs.first { $0.kind == "iv" })
        let done = try pair.b.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        #expect(done.state == "failed")
        #expect(
            done.reason?.contains("aligned row 1:") == true && done.reason?.contains("protocol.badProof") == true,
            "\(done.reason ?? "")")
        #expect(done.counters["iv.badProofRow"] == 1)
    }

    /// A key size the host's operator does not allow (512 bits here) is refused before any label is read.
    @Test func aKeyOfADisallowedSizeIsRefusedWithAFixedCode() async throws {
        let (pair, link) = try host()
        defer { pair.daemonB?.stop() }
        let channel = try await link.openJobOnceMore(
            peer: "bank-b", kind: "iv", dataset: "host", purpose: "iv",
            options: [
                "suite": .string("ecdh-25519"), "binning": .string("quantile"), "bins": .int(10),
                "role": .string("host"),
            ])
        _ = try await align(channel)
        _ = try await channel.receive(control: NonceMessage.self, timeout: .seconds(120))
        let key = try PaillierPrivateKey.generate(bits: 512)
        try channel.send(
            control: KeyMessage(
                n: PaillierInterchange.base64url(key.publicKey.n), count: 569, batch: 256, proofDigest: "SHA256"))
        var ending = ""
        do { while true { _ = try await channel.receive(timeout: .seconds(120)) } } catch { ending = "\(error)" }
        #expect(ending.hasSuffix("aborted: limits.exceeded"), "\(ending)")
    }

    /// The key message's batch size of zero or less (which would loop on empty frames) is refused
    /// with the fixed code, and so is a modulus far over any allowed size — before it is read (issue
    /// 13, leak 8).
    @Test(arguments: [("batch", 0), ("batch", -1), ("bits", 20000)])
    func aZeroBatchOrAHugeModulusIsRefusedWithAFixedCode(field: String, value: Int) async throws {
        let (pair, link) = try host()
        defer { pair.daemonB?.stop() }
        let channel = try await link.openJobOnceMore(
            peer: "bank-b", kind: "iv", dataset: "host", purpose: "iv",
            options: [
                "suite": .string("ecdh-25519"), "binning": .string("quantile"), "bins": .int(10),
                "role": .string("host"),
            ])
        _ = try await align(channel)
        _ = try await channel.receive(control: NonceMessage.self, timeout: .seconds(120))
        let n =
            field == "bits"
            ? try BigNumber(randomBits: value, odd: true) : try PaillierPrivateKey.generate(bits: 1024).publicKey.n
        let started = ContinuousClock.now
        try channel.send(
            control: KeyMessage(
                n: PaillierInterchange.base64url(n), count: 569, batch: field == "batch" ? value : 256,
                proofDigest: "SHA256"))
        var ending = ""
        do { while true { _ = try await channel.receive(timeout: .seconds(120)) } } catch { ending = "\(error)" }
        let expected = field == "batch" ? "protocol.badMessage" : "limits.exceeded"
        #expect(ending.hasSuffix("aborted: \(expected)"), "\(ending)")
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// More bins than the host allows (default 50) are refused at the opening, with the fixed code.
    @Test func tooManyBinsAreRefusedAtTheOpening() async throws {
        let (pair, link) = try host()
        defer { pair.daemonB?.stop() }
        await #expect { () async throws in
            _ = try await link.openJobOnceMore(
                peer: "bank-b", kind: "iv", dataset: "host", purpose: "iv",
                options: [
                    "suite": .string("ecdh-25519"), "binning": .string("quantile"), "bins": .int(51),
                    "role": .string("host"),
                ])
        } throws: { "\($0)".hasSuffix("refused: limits.exceeded") }
    }
}
