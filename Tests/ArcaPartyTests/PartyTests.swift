@testable import ArcaPSI
@testable import ArcaParty
import ArcaCrypto
import Foundation
import Testing

/// A self-signed Ed25519 certificate and key made with the openssl CLI in a temporary directory.
struct TestIdentity {
    let certificate: String
    let key: String
    init(_ name: String, in directory: String) throws {
        certificate = directory + "/\(name).pem"; key = directory + "/\(name).key"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "2", "-subj", "/CN=\(name)", "-keyout", key, "-out", certificate]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl req failed for \(name)")
    }
}

func temporaryDirectory() throws -> String {
    let path = "/tmp/arca-party-" + UUID().uuidString.prefix(8)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Two links on loopback, `a` listening and calling `b`, each pinning the other.
func linkedPair(directory: String, maxFrameBytes: Int = 1 << 20, bPinsCertificateOf other: TestIdentity? = nil) throws -> (PartyLink, PartyLink) {
    let a = try TestIdentity("bank-a", in: directory), b = try TestIdentity("bank-b", in: directory)
    let linkB = try PartyLink(settings: PartySettings(name: "bank-b", listen: "127.0.0.1:0", certificateFile: b.certificate, keyFile: b.key,
                                                      maxFrameBytes: maxFrameBytes, heartbeatSeconds: 10,
                                                      peers: [PartyPeer(name: "bank-a", address: "127.0.0.1:1", certificateFile: (other ?? a).certificate)]),
                              audit: nil)
    try linkB.start { _, _, channel in channel.abort(.refusedKind) }
    let linkA = try PartyLink(settings: PartySettings(name: "bank-a", listen: nil, certificateFile: a.certificate, keyFile: a.key,
                                                      maxFrameBytes: maxFrameBytes, heartbeatSeconds: 10,
                                                      peers: [PartyPeer(name: "bank-b", address: "127.0.0.1:\(linkB.listeningPort!)", certificateFile: b.certificate)]),
                              audit: nil)
    return (linkA, linkB)
}

@Suite("party link and PSI")
struct PartyTests {
    @Test func x25519FirstStageEqualsPythonCryptography() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/x25519_first_stage.tsv")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        let key = try X25519Key(scalar: Array(hex: String(lines[0].dropFirst("# private key ".count))))
        let deriver = try key.deriver()
        var checked = 0
        for line in lines.dropFirst() {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            let id = try JSONDecoder().decode(String.self, from: Data(parts[0].utf8))
            let u = try Digest.sha256.hash(Array(id.utf8))
            let value = try key.multiply(u)
            #expect(value == Array(hex: String(parts[1])), "id \(id)")
            // The batch path: one deriver refilled with each u in turn.
            var batched = [UInt8](repeating: 0, count: 32)
            try u.withUnsafeBytes { u in try batched.withUnsafeMutableBytes { try deriver.multiply(u, into: $0) } }
            #expect(batched == value, "id \(id) through the deriver")
            checked += 1
        }
        #expect(checked == 9)
    }

    /// The order PSI sends ids in: every index once, and not the file's order.
    @Test func securePermutationsArePermutationsAndDiffer() throws {
        let first = try SecureRandom.permutation(10_000), second = try SecureRandom.permutation(10_000)
        #expect(first.sorted() == Array(0..<10_000) && second.sorted() == Array(0..<10_000))
        #expect(first != second && first != Array(0..<10_000))
        // Fixed points of a uniform permutation: about 1 on average.
        #expect(first.indices.filter { first[$0] == $0 }.count < 20)
        #expect(try SecureRandom.permutation(0).isEmpty && SecureRandom.permutation(1) == [0])
    }

    /// What a peer sends is read as a code of the closed list, or `unknown`; a per-peer cap wins.
    @Test func peerCodesAndCaps() {
        #expect(PeerCode(received: "refused.grant") == .refusedGrant)
        #expect(PeerCode(received: "/etc/passwd: line 3") == .unknown)
        #expect(PeerCode(for: PartyRefusal(.limitsExceeded, "detail")) == .limitsExceeded)
        #expect(PeerCode(for: PartyError("a path /x")) == .internal)
        #expect(PartyOpenReply(refusal: .refusedKind).refusal == .refusedKind)
        let settings = PartySettings(
            name: "a", listen: nil, certificateFile: "", keyFile: "",
            peers: [
                PartyPeer(name: "b", address: "h:1", certificateFile: "", maxPeerItems: 10),
                PartyPeer(name: "c", address: "h:2", certificateFile: ""),
            ], maxPeerItems: 500)
        #expect(settings.maxPeerItems(for: "b") == 10 && settings.maxPeerItems(for: "c") == 500)
    }

    @Test func aProbeCompletesMutualTLSWithPinnedCertificates() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (a, b) = try linkedPair(directory: directory)
        defer { b.stop() }
        let status = await a.probe("bank-b")
        #expect(status.state == "up", "\(status.lastError ?? ""); bank-b refused: \(b.refusals); bank-b's channels ended: \(b.endings)")
    }

    @Test func aPeerPresentingAnotherCertificateIsRefused() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stranger = try TestIdentity("stranger", in: directory)
        let (a, b) = try linkedPair(directory: directory, bPinsCertificateOf: stranger)
        defer { b.stop() }
        let status = await a.probe("bank-b")
        #expect(status.state == "down")
    }

    @Test func framesOverTheLimitAreRefused() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (a, b) = try linkedPair(directory: directory, maxFrameBytes: 65536)
        defer { b.stop() }
        let channel = try await a.connect(to: "bank-b")
        #expect(throws: PartyError.self) { try channel.send(PartyFrame(.data, [UInt8](repeating: 7, count: 65536))) }
        channel.close()
    }

    @Test(arguments: PSISuite.allCases)
    func psiOverLoopbackFindsExactlyTheSharedIds(suite: PSISuite) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let a = try TestIdentity("bank-a", in: directory), b = try TestIdentity("bank-b", in: directory)
        let linkB = try PartyLink(settings: PartySettings(name: "bank-b", listen: "127.0.0.1:0", certificateFile: b.certificate, keyFile: b.key,
                                                          heartbeatSeconds: 3, peers: [PartyPeer(name: "bank-a", address: "127.0.0.1:1", certificateFile: a.certificate)]),
                                  audit: nil)
        // B's side: ids 3000..<9000 (an odd size: batches of 4096 and a partial one).
        let bIds = (3000..<9000).map { Array("id-\($0)".utf8) }
        let bResult = Mutex<[Int]?>(nil)
        try linkB.start { _, _, channel in
            let outcome = try? await PSIProtocol.run(channel: channel, ids: bIds, suite: suite, receivesResult: true, peerReceivesResult: true,
                                                     registry: nil, compute: { try $0() })
            bResult.withLock { $0 = outcome?.matched }
        }
        defer { linkB.stop() }
        let linkA = try PartyLink(settings: PartySettings(name: "bank-a", listen: nil, certificateFile: a.certificate, keyFile: a.key, heartbeatSeconds: 3,
                                                          peers: [PartyPeer(name: "bank-b", address: "127.0.0.1:\(linkB.listeningPort!)", certificateFile: b.certificate)]),
                                  audit: nil)
        let count = suite == .dhMODP2048 ? 1500 : 5000
        let aIds = (0..<count).map { Array("id-\($0 * 2)".utf8) }  // even ids 0 … 2(count-1)
        let channel = try await linkA.connect(to: "bank-b")
        try channel.send(control: PartyOpen(type: "job"))
        let outcome: PSIOutcome
        do {
            outcome = try await PSIProtocol.run(channel: channel, ids: aIds, suite: suite, receivesResult: true, peerReceivesResult: true,
                                                registry: nil, compute: { try $0() })
        } catch {
            Issue.record("\(error); bank-b refused: \(linkB.refusals); bank-b's channels ended: \(linkB.endings)")
            throw error
        }
        let expected = (0..<count).filter { (3000..<9000).contains($0 * 2) }
        #expect(outcome.matched == expected)
        #expect(outcome.peerItems == 6000)
        try await Task.sleep(for: .milliseconds(200))
        let theirs = bResult.withLock { $0 }
        #expect(theirs?.count == expected.count)
    }
}

import Synchronization
