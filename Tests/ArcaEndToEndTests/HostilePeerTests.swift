import ArcaAPI
import ArcaCrypto
import ArcaHE
import ArcaPSI
import ArcaParty
import Foundation
import Synchronization
import Testing

/// What a hostile side received on one channel: every frame, in order, and how the channel ended.
/// Only the text of control frames and of the ending is searched for secrets (the data frames are
/// group elements and tags: random bytes in which any short string may occur by chance).
final class Received {
    var frames: [PartyFrame] = []
    var ending = ""
    var controls: [String] { frames.filter { $0.kind == .control }.map { String(decoding: $0.payload, as: UTF8.self) } }
    var text: String { (controls + [ending]).joined(separator: "\n") }

    /// The next frame, recorded.
    func next(_ channel: PartyChannel, timeout: Duration = .seconds(120)) async throws -> PartyFrame {
        let frame = try await channel.receive(timeout: timeout)
        frames.append(frame)
        return frame
    }

    /// Records frames until the channel ends.
    func drain(_ channel: PartyChannel, timeout: Duration = .seconds(120)) async {
        do { while true { _ = try await next(channel, timeout: timeout) } } catch { ending = "\(error)" }
    }

    /// The secrets that occur in what was received.
    func revealed(_ secrets: [String]) -> [String] { secrets.filter { text.contains($0) } }
}

extension PartyLink {
    /// ``openJob(peer:kind:dataset:purpose:options:)``, once more when the connection closed before
    /// any answer: under the whole suite's load on 2 cores a fresh connection was seen to close so
    /// (cause not known; see the stop's note). Every other outcome is returned or thrown as it is.
    func openJobOnceMore(
        peer: String, kind: String, dataset: String?, purpose: String, options: [String: PartyValue]
    ) async throws -> PartyChannel {
        do {
            return try await openJob(peer: peer, kind: kind, dataset: dataset, purpose: purpose, options: options)
        } catch let error as PartyError where error.description.hasSuffix("the peer closed the connection") {
            return try await openJob(peer: peer, kind: kind, dataset: dataset, purpose: purpose, options: options)
        }
    }
}

/// The wire forms of PSI's and WOE/IV's messages, written by the hostile side itself.
enum Wire {
    struct Hello: Codable {
        var suite: String
        var items: Int
        var batchSize: Int
        var receivesResult: Bool
    }
    struct Done: Codable { var matched: Int? }
    struct NonceMessage: Codable { var nonce: String }
    struct KeyMessage: Codable {
        var n: String
        var count: Int
        var batch: Int
        var proofDigest: String
    }
    struct FeatureSums: Codable {
        var feature: String
        var sums: [WireCiphertext]
        var sizes: [Int]
    }
    struct SumsMessage: Codable {
        var features: [FeatureSums]
        var seconds: Double
        var devices: [String]
        var multiplications: Int
        var verifySeconds: Double
    }

    static func batch(_ type: Character, _ index: UInt32, _ body: [UInt8]) -> PartyFrame {
        let header =
            [UInt8(ascii: type.unicodeScalars.first!)]
            + [UInt8(index >> 24), UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff)]
        return PartyFrame(.data, header + body)
    }
}

/// The first column of a CSV file's rows (after the header).
func firstColumn(_ file: String) throws -> [String] {
    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").dropFirst()
        .map { String($0.split(separator: ",", omittingEmptySubsequences: false)[0]) }
}

/// A hostile appliance calling bank-b as bank-a (it holds bank-a's pinned certificate).
func hostileRequester(_ pair: PartyPair) throws -> PartyLink {
    try PartyLink(
        settings: PartySettings(
            name: "bank-a", listen: nil, certificateFile: pair.directory + "/bank-a.pem",
            keyFile: pair.directory + "/bank-a.key", heartbeatSeconds: 5,
            peers: [
                PartyPeer(
                    name: "bank-b", address: "127.0.0.1:\(pair.portB)", certificateFile: pair.directory + "/bank-b.pem")
            ]),
        audit: nil)
}

/// A hostile appliance listening as bank-b (bank-b's certificate, on bank-b's port) for the real
/// bank-a to call; every opening it gets is kept for the test.
final class HostileResponder: Sendable {
    let link: PartyLink
    let openings = Mutex<[(PartyOpen, PartyChannel)]>([])

    init(_ pair: PartyPair) throws {
        link = try PartyLink(
            settings: PartySettings(
                name: "bank-b", listen: "127.0.0.1:\(pair.portB)", certificateFile: pair.directory + "/bank-b.pem",
                keyFile: pair.directory + "/bank-b.key", heartbeatSeconds: 5,
                peers: [
                    PartyPeer(name: "bank-a", address: "127.0.0.1:1", certificateFile: pair.directory + "/bank-a.pem")
                ]),
            audit: nil)
        try link.start { _, open, channel in self.openings.withLock { $0.append((open, channel)) } }
    }

    /// The next job bank-a opens (probes are answered by the link itself).
    func next(timeout: Double = 120) async throws -> (PartyOpen, PartyChannel) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let first = openings.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return first }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("bank-a opened no job within \(timeout) s")
        throw CancellationError()
    }
}

/// The responder's side of an ecdh-25519 PSI run by hand (one batch each way, at most 4096 ids),
/// able to deviate: repeat a tag it returns, or repeat an element it sends.
struct HandPSI {
    let key: X25519Key
    init() throws { key = try X25519Key() }

    func first(_ ids: [String]) throws -> [UInt8] {
        try ids.flatMap { try key.multiply(try Digest.sha256.hash(Array($0.utf8))) }
    }

    /// The 96-bit tags of the peer's first-stage elements.
    func tags(_ elements: ArraySlice<UInt8>) throws -> [[UInt8]] {
        try stride(from: elements.startIndex, to: elements.endIndex, by: 32).map { start in
            Array(try key.multiply(Array(elements[start..<(start + 32)])).prefix(12))
        }
    }

    struct Run {
        /// The honest side's elements' tags, in the order they came on the wire.
        var theirs: [[UInt8]] = []
        /// The tags of this side's ids (when it receives the result), in the order of `ids`.
        var ours: [[UInt8]]?
    }

    /// - Parameters:
    ///   - repeatTag: return the tag of the honest side's item 0 at these positions as well.
    ///   - repeatElement: send this side's first element twice (at positions 0 and 1).
    func respond(
        _ channel: PartyChannel, ids: [String], receivesResult: Bool, peerReceivesResult: Bool,
        repeatTag: [Int] = [], repeatElement: Bool = false, received: Received
    ) async throws -> Run {
        var run = Run()
        try channel.send(control: PartyOpenReply(ok: true, job: 1))
        let hello = try await received.next(channel)
        #expect(hello.kind == .control)
        try channel.send(
            control: Wire.Hello(suite: "ecdh-25519", items: ids.count, batchSize: 4096, receivesResult: receivesResult))
        var own = try first(ids)
        if repeatElement { own.replaceSubrange(32..<64, with: own[0..<32]) }
        try channel.send(Wire.batch("F", 0, own))
        var answered = false
        while run.theirs.isEmpty || !answered {
            let frame = try await received.next(channel)
            let body = frame.payload[5...]
            switch frame.payload[0] {
            case UInt8(ascii: "F"):
                run.theirs = try tags(body)
                var answer = run.theirs
                for position in repeatTag { answer[position] = answer[0] }
                try channel.send(
                    Wire.batch(peerReceivesResult ? "S" : "A", 0, peerReceivesResult ? answer.flatMap { $0 } : []))
            case UInt8(ascii: "S"):
                run.ours = stride(from: body.startIndex, to: body.endIndex, by: 12).map { Array(body[$0..<($0 + 12)]) }
                answered = true
            default:
                answered = true
            }
        }
        _ = try await received.next(channel)  // the honest side's Done
        try channel.send(control: Wire.Done(matched: nil))
        return run
    }
}

/// A hostile partner — test code holding the other bank's pinned certificate, speaking the party
/// link over real TLS and deviating on purpose — against a real arcad (issue 13, leaks 1, 3, 4, 5).
/// Each test searches what the hostile side received for the values the honest side must keep.
@Suite("A hostile partner against a real arcad: PSI, refusals, the id column", .serialized)
struct HostilePeerTests {
    static let guestFile = JobFixture.data + "/breast_hetero_guest.csv"
    static let hostFile = JobFixture.data + "/breast_hetero_host.csv"

    /// bank-a (real) with the breast guest file granted to bank-b for psi and iv; bank-b is the test.
    func honestA() throws -> (PartyPair, HostileResponder) {
        let pair = try PartyPair()
        pair.daemonA = try pair.a.start()
        let added = try pair.a.ctl([
            "dataset", "add", "guest", "--file", Self.guestFile, "--id-column", "id", "--label-column", "y",
            "--timeout", "120",
        ])
        try #require(added.status == 0, "\(added.stderr)")
        for purpose in ["psi", "iv"] {
            let granted = try pair.a.ctl(["dataset", "grant", "guest", "--partner", "bank-b", "--purpose", purpose])
            try #require(granted.status == 0, "\(granted.stderr)")
        }
        return (pair, try HostileResponder(pair))
    }

    func submitPSI(_ pair: PartyPair, resultTo: String) throws -> JobResponse {
        try pair.submit(dataset: "guest", peerDataset: "host", suite: "ecdh-25519", resultTo: resultTo)
    }

    /// Leak 5: bank-a keeps the result (result_to = local); the hostile responder must not learn how
    /// many ids are shared. bank-a's own job has the count, and meters the peer's items.
    @Test func aSideThatDoesNotReceiveTheResultIsNotToldTheCount() async throws {
        let (pair, hostile) = try honestA()
        defer { hostile.link.stop(); pair.daemonA?.stop() }
        // Every other host id and 50 made up: 285 shared, 335 declared.
        let hostIds = try firstColumn(Self.hostFile)
        let ids = hostIds.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) + (0..<50).map { "made-up-\($0)" }
        let job = try submitPSI(pair, resultTo: "local")
        let (open, channel) = try await hostile.next()
        #expect(open.options?["id_column"] == nil && open.options?["result_to"] == .string("partner"))
        let received = Received()
        _ = try await HandPSI().respond(
            channel, ids: ids, receivesResult: false, peerReceivesResult: true, received: received)
        channel.close()
        let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        #expect(done.counters["psi.matched"] == 285)
        #expect(done.counters["psi.peerItems"] == 335)
        let usage = try pair.a.json(UsageResponse.self, ["usage", "--partner", "bank-b"])
        #expect(usage.totals.contains { $0.metric == "psi.peerItems" && $0.amount == 335 }, "\(usage.totals)")
        // The hostile side got the Hello (569 ids: the count every side learns) and an empty Done.
        #expect(received.controls.contains { $0.contains("\"items\":569") }, "\(received.controls)")
        #expect(!received.text.contains("matched\":"), "\(received.controls)")
        #expect(received.revealed(["285"]).isEmpty, "\(received.controls)")
    }

    /// Leak 5: with the result on both sides, the hostile responder maps each shared id to the
    /// position at which bank-a sent it. Those positions must not be bank-a's rows: bank-a sends its
    /// ids in a fresh random order (unshuffled, all 569 would sit at their row).
    @Test func theHonestSideSendsItsIdsInARandomOrderNotInFileOrder() async throws {
        let (pair, hostile) = try honestA()
        defer { hostile.link.stop(); pair.daemonA?.stop() }
        let hostIds = try firstColumn(Self.hostFile), guestIds = try firstColumn(Self.guestFile)
        let job = try submitPSI(pair, resultTo: "both")
        let (_, channel) = try await hostile.next()
        let received = Received()
        let run = try await HandPSI().respond(
            channel, ids: hostIds, receivesResult: true, peerReceivesResult: true, received: received)
        channel.close()
        let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        #expect(done.counters["psi.matched"] == 569)
        // bank-a's result keeps its file's order.
        let rows = try pair.result(pair.a, job.id)
        #expect(rows.dropFirst().map { String($0.prefix { $0 != "," }) } == guestIds)
        let ours = try #require(run.ours)
        let idOfTag = Dictionary(uniqueKeysWithValues: zip(ours, hostIds))
        let matched = run.theirs.enumerated().compactMap { position, tag in idOfTag[tag].map { (position, $0) } }
        #expect(matched.count == 569)
        let atTheirRow = matched.filter { guestIds[$0.0] == $0.1 }.count
        #expect(atTheirRow < 20, "\(atTheirRow) of 569 shared ids came at their row of bank-a's file")
    }

    /// Leak 5: a responder that repeats one tag at chosen positions (to make bank-a's result say what
    /// it likes), or repeats an element it sends, is refused with `protocol.badMessage`.
    @Test func repeatedTagsOrElementsFromThePeerAreRefused() async throws {
        let (pair, hostile) = try honestA()
        defer { hostile.link.stop(); pair.daemonA?.stop() }
        let hostIds = try firstColumn(Self.hostFile)
        for (repeatTag, repeatElement, detail) in [
            ([7, 300], false, "repeats a tag"), ([], true, "repeats an element"),
        ] {
            let job = try submitPSI(pair, resultTo: "local")
            let (_, channel) = try await hostile.next()
            let received = Received()
            do {
                _ = try await HandPSI().respond(
                    channel, ids: hostIds, receivesResult: false, peerReceivesResult: true, repeatTag: repeatTag,
                    repeatElement: repeatElement, received: received)
                await received.drain(channel)
            } catch { received.ending = "\(error)" }
            #expect(received.ending.hasSuffix("aborted: protocol.badMessage"), "\(received.ending)")
            let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
            #expect(done.state == "failed" && done.resultPath == nil)
            #expect(
                done.reason?.contains(detail) == true && done.reason?.contains("protocol.badMessage") == true,
                "\(done.reason ?? "")")
            #expect(received.revealed(["repeats", "told the peer"]).isEmpty, "\(received.text)")
        }
    }

    /// Leak 5: a requester that declares more ids than bank-b's operator allows (`max_peer_items`)
    /// is refused with `limits.exceeded` before bank-b blinds anything. Its acceptance carries no job id.
    @Test func aPeerDeclaringMoreItemsThanTheCapIsRefused() async throws {
        let pair = try PartyPair(bParty: "max_peer_items = 1000")
        pair.daemonB = try pair.b.start()
        defer { pair.daemonB?.stop() }
        try pair.register(pair.b, "host", file: "breast_hetero_host.csv")
        let link = try hostileRequester(pair)
        let channel = try await link.connect(to: "bank-b")
        try channel.send(
            control: PartyOpen(
                type: "job", session: UUID().uuidString, kind: "psi", dataset: "host", purpose: "psi",
                options: [
                    "suite": .string("ecdh-25519"), "result_to": .string("both"), "duplicates": .string("reject"),
                ]))
        let received = Received()
        // The acceptance is `{"ok": true}` alone: no job id (it would count bank-b's jobs).
        let accepted = try await received.next(channel)
        let object = try JSONSerialization.jsonObject(with: Data(accepted.payload)) as? [String: Any]
        #expect(object?.keys.sorted() == ["ok"] && object?["ok"] as? Bool == true, "\(received.controls)")
        _ = try await received.next(channel)  // bank-b's Hello
        try channel.send(control: Wire.Hello(suite: "ecdh-25519", items: 1001, batchSize: 4096, receivesResult: true))
        await received.drain(channel)
        #expect(received.ending.hasSuffix("aborted: limits.exceeded"), "\(received.ending)")
        #expect(!received.frames.contains { $0.kind == .data }, "bank-b sent no element")
        #expect(received.revealed(["1000", "max_peer_items"]).isEmpty, "\(received.text)")
        let job = try #require(try pair.responderJob())
        let done = try pair.b.wait(job: job.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(
            done.state == "failed" && done.reason?.contains("1001") == true
                && done.reason?.contains("max_peer_items") == true, "\(done.reason ?? "")")
    }

    /// Opens a job on bank-b by hand and returns everything bank-b answered.
    func open(
        _ link: PartyLink, kind: String = "psi", dataset: String, purpose: String = "psi",
        options: [String: PartyValue] = [:]
    ) async throws -> Received {
        let all: [String: PartyValue] = [
            "suite": .string("ecdh-25519"), "result_to": .string("both"), "duplicates": .string("reject"),
        ].merging(options) { $1 }
        // One more try when the connection closed before any frame: under the whole suite's load on
        // 2 cores a fresh connection was seen to close so (the cause is not known; see the stop's
        // note). What arrives on a connection that carries frames is checked as it is.
        for attempt in 1...2 {
            let channel = try await link.connect(to: "bank-b")
            try channel.send(
                control: PartyOpen(
                    type: "job", session: UUID().uuidString, kind: kind, dataset: dataset, purpose: purpose,
                    options: all))
            let received = Received()
            await received.drain(channel)
            if attempt == 1, received.frames.isEmpty, received.ending.hasSuffix("the peer closed the connection") {
                continue
            }
            return received
        }
        fatalError("not reached")
    }

    /// Leaks 3 and 4: every refusal bank-b sends is `{"ok": false, "reason": <a fixed code>}` and
    /// nothing else — no path, header, other partner, revoker, quota use or digest; the detail is
    /// in bank-b's audit log. A requester cannot pick bank-b's id column (psi or iv).
    @Test func refusalsAreFixedCodesAndThePeerCannotPickTheIdColumn() async throws {
        let pair = try PartyPair()
        pair.daemonB = try pair.b.start()
        defer { pair.daemonB?.stop() }
        let copy = pair.directory + "/private-host-copy.csv", changing = pair.directory + "/private-host-changing.csv"
        let hostText = try String(contentsOfFile: Self.hostFile, encoding: .utf8)
        try hostText.write(toFile: copy, atomically: true, encoding: .utf8)
        try hostText.write(toFile: changing, atomically: true, encoding: .utf8)
        for name in ["elsewhere", "revoked", "quota", "changed", "host"] {
            let file = name == "changed" ? changing : copy
            let added = try pair.b.ctl([
                "dataset", "add", name, "--file", file, "--id-column", "id", "--timeout", "120",
            ])
            try #require(added.status == 0, "\(added.stderr)")
        }
        func grant(_ arguments: [String]) throws {
            let granted = try pair.b.ctl(["dataset", "grant"] + arguments)
            try #require(granted.status == 0, "\(granted.stderr)")
        }
        try grant(["elsewhere", "--partner", "bank-c", "--purpose", "psi"])
        try grant(["revoked", "--partner", "bank-a", "--purpose", "psi"])
        let grants = try pair.b.json(GrantListResponse.self, ["dataset", "grants", "revoked"])
        let revoked = try #require(grants.grants.first)
        #expect(try pair.b.ctl(["dataset", "revoke", "\(revoked.id)"]).status == 0)
        try grant(["quota", "--partner", "bank-a", "--purpose", "psi", "--max-rows", "100", "--per", "day"])
        try grant(["changed", "--partner", "bank-a", "--purpose", "psi"])
        try grant(["host", "--partner", "bank-a", "--purpose", "psi"])
        try grant(["host", "--partner", "bank-a", "--purpose", "iv"])
        let datasets = try pair.b.json(DatasetListResponse.self, ["dataset", "list"]).datasets
        let digest = try #require(datasets.first { $0.name == "changed" }).digest
        let cases: [(dataset: String, kind: String, purpose: String, options: [String: PartyValue], code: PeerCode)] = [
            ("elsewhere", "psi", "psi", [:], .refusedGrant),
            ("revoked", "psi", "psi", [:], .refusedGrant),
            ("quota", "psi", "psi", [:], .refusedQuota),
            ("nosuch", "psi", "psi", [:], .refusedDataset),
            ("host", "dataset-stats", "psi", [:], .refusedKind),
            ("changed", "psi", "psi", [:], .refusedDataset),
            ("host", "psi", "psi", ["id_column": .string("x0")], .protocolBadMessage),
            (
                "host", "iv", "iv", ["id_column": .string("x0"), "role": .string("host"), "bins": .int(10)],
                .protocolBadMessage
            ),
        ]
        // What bank-b must keep: the file's path, its header, the other partner, who revoked, the
        // quota and its use, the digest, the column a peer asked for.
        let secrets = [
            pair.directory, "private-host", "x0", "bank-c", "revoked", "uid", "root", "569", "100",
            String(digest.prefix(16)), "id_column", "grant-",
        ]
        let link = try hostileRequester(pair)
        for refusal in cases {
            if refusal.dataset == "changed" {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: changing))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data("999999,1,1,1,1,1,1,1,1,1,1\n".utf8))
                try handle.close()
            }
            let received = try await open(
                link, kind: refusal.kind, dataset: refusal.dataset, purpose: refusal.purpose,
                options: refusal.options)
            let label = "\(refusal.dataset) \(refusal.kind) \(refusal.options.keys.sorted())"
            #expect(received.frames.count == 1, "\(label): \(received.frames.count) frames")
            let reply = try #require(received.frames.first, "\(label): \(received.ending)")
            let object = try JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any]
            #expect(Set(object?.keys.map { $0 } ?? []) == ["ok", "reason"], "\(label): \(received.controls)")
            #expect(
                object?["ok"] as? Bool == false && object?["reason"] as? String == refusal.code.rawValue,
                "\(label): \(received.controls)")
            #expect(received.revealed(secrets).isEmpty, "\(label): \(received.revealed(secrets)) in \(received.text)")
        }
        // bank-b keeps the detail.
        let audit = try pair.b.json(AuditEntriesResponse.self, ["audit", "show"]).entries.joined(separator: "\n")
        #expect(audit.contains("granted to bank-c") && audit.contains("revoked at") && audit.contains("rows per day"))
        #expect(audit.contains("peer_id_column") || audit.contains("options.id_column"), "\(audit.suffix(2000))")
        // And bank-b's own operator cannot ask bank-a for a chosen id column either.
        let spec = pair.directory + "/peer-column.toml"
        try """
        kind = "psi"
        dataset = "host"
        partner = "bank-a"
        purpose = "psi"
        [options]
        suite = "ecdh-25519"
        peer_dataset = "guest"
        peer_id_column = "x0"
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        let submitted = try pair.b.ctl(["job", "submit", spec])
        #expect(
            submitted.status == 1 && submitted.stderr.contains("peer_id_column")
                && submitted.stderr.contains("registered"), "\(submitted.stderr)")
    }

    /// Leak 1: a hostile WOE/IV host returns, as one bin's sum, Π c_j^(2^j) over the first 60
    /// aligned labels with a bin size of 0. bank-a (the guest) decrypts Σ label_j·2^j — 60 labels —
    /// and must tell the host only `protocol.badMessage`; the value stays in bank-a's job.
    @Test func aHostileHostsForgedSumDoesNotComeBackInTheGuestsAbort() async throws {
        let (pair, hostile) = try honestA()
        defer { hostile.link.stop(); pair.daemonA?.stop() }
        let spec = pair.directory + "/iv.toml"
        try """
        kind = "iv"
        dataset = "guest"
        partner = "bank-b"
        purpose = "iv"
        [options]
        peer_dataset = "host"
        key_bits = 1024
        bins = 10
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        let job = try pair.a.submit(spec)
        let (open, channel) = try await hostile.next()
        #expect(open.kind == "iv" && open.options?["id_column"] == nil)
        try channel.send(control: PartyOpenReply(ok: true, job: 1))
        let hostIds = try firstColumn(Self.hostFile)
        let outcome = try await PSIProtocol.run(
            channel: channel, ids: hostIds.map { Array($0.utf8) }, suite: .ecdh25519, receivesResult: true,
            peerReceivesResult: true, registry: nil, compute: { try $0() })
        let aligned = try #require(outcome.matched).map { hostIds[$0] }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let received = Received()
        try channel.send(control: Wire.NonceMessage(nonce: String(repeating: "ab", count: 32)))
        let keyFrame = try await received.next(channel)
        let keyMessage = try JSONDecoder().decode(Wire.KeyMessage.self, from: Data(keyFrame.payload))
        let key = try PaillierInterchange.publicKey(
            PaillierPublicKeyJWK(kty: "DAJ", alg: "PAI-GN1", key_ops: nil, n: keyMessage.n, kid: nil))
        let width = (key.nSquare.bitCount + 7) / 8, rowWidth = width + ZeroOneProof.width(key: key)
        var labels: [BigNumber] = []
        while labels.count < keyMessage.count {
            let frame = try await received.next(channel)
            for start in stride(from: 0, to: frame.payload.count, by: rowWidth) {
                labels.append(BigNumber(bigEndian: Array(frame.payload[start..<(start + width)])))
            }
        }
        var forged = BigNumber(1)
        for j in 0..<60 {
            let power = try BigNumber.modExpConstantTime(labels[j], BigNumber(1).shiftedLeft(j), key.nSquare)
            forged = BigNumber.modMul(forged, power, key.nSquare)
        }
        try channel.send(
            control: Wire.SumsMessage(
                features: [
                    Wire.FeatureSums(
                        feature: "x0", sums: PaillierInterchange.wire([Ciphertext(value: forged, exponent: 0)]),
                        sizes: [0])
                ],
                seconds: 0, devices: ["cpu"], multiplications: 0, verifySeconds: 0))
        await received.drain(channel)
        // The value the guest decrypted: its first 60 aligned labels as bits.
        let text = try String(contentsOfFile: Self.guestFile, encoding: .utf8).split(separator: "\n").dropFirst()
        let label = Dictionary(
            uniqueKeysWithValues: text.map { line in
                let fields = line.split(separator: ",")
                return (String(fields[0]), fields[1] == "1")
            })
        var secret: UInt64 = 0
        for (bit, id) in aligned.prefix(60).enumerated() where label[id] == true { secret |= UInt64(1) << UInt64(bit) }
        #expect(received.ending.hasSuffix("aborted: protocol.badMessage"), "\(received.ending)")
        #expect(received.revealed(["\(secret)", String(secret, radix: 16), "decrypted"]).isEmpty, "\(received.text)")
        let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        #expect(done.state == "failed")
        #expect(
            done.reason?.contains("decrypted event count") == true
                && done.reason?.contains("protocol.badMessage") == true, "\(done.reason ?? "")")
    }
}
