import ArcaAudit
import ArcaCrypto
import ArcaSystem
import Foundation
import Testing

@testable import ArcaParty

/// The party link against a peer or a stranger that floods it (issue 13, leaks 7, 8 and 12).
@Suite("party link limits")
struct LinkLimitsTests {
    /// bank-b listening with `configure` applied to its settings, and bank-a calling it.
    func pair(
        directory: String, audit: AuditLog? = nil, configure: (inout PartySettings) -> Void = { _ in },
        handler: @escaping PartyLink.OpenHandler = { _, _, channel in channel.abort("no jobs here") }
    ) throws
        -> (a: PartyLink, b: PartyLink)
    {
        let a = try TestIdentity("bank-a", in: directory), b = try TestIdentity("bank-b", in: directory)
        var settingsB = PartySettings(
            name: "bank-b", listen: "127.0.0.1:0", certificateFile: b.certificate, keyFile: b.key,
            heartbeatSeconds: 10,
            peers: [PartyPeer(name: "bank-a", address: "127.0.0.1:1", certificateFile: a.certificate)])
        configure(&settingsB)
        let linkB = try PartyLink(settings: settingsB, audit: audit)
        try linkB.start(handler: handler)
        let linkA = try PartyLink(
            settings: PartySettings(
                name: "bank-a", listen: nil, certificateFile: a.certificate, keyFile: a.key,
                heartbeatSeconds: 10,
                peers: [
                    PartyPeer(
                        name: "bank-b", address: "127.0.0.1:\(linkB.listeningPort!)",
                        certificateFile: b.certificate)
                ]),
            audit: nil)
        return (linkA, linkB)
    }

    /// A peer that sends more than `max_inbox_bytes` that nobody reads gets the channel aborted
    /// with `limits.exceeded`.
    @Test func aPeerFloodingTheInboxHasTheChannelAbortedWithLimitsExceeded() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (a, b) = try pair(directory: directory, configure: { $0.maxInboxBytes = 200_000 }) { _, _, channel in
            // The job is slow to read: it holds the channel and reads nothing for a while.
            try? await Task.sleep(for: .seconds(15))
            channel.close()
        }
        defer { b.stop() }
        let channel = try await a.connect(to: "bank-b")
        try channel.send(control: PartyOpen(type: "job"))
        for _ in 0..<40 { try channel.send(PartyFrame(.data, [UInt8](repeating: 7, count: 10_000))) }
        let ending: String
        do {
            _ = try await channel.receive(timeout: .seconds(10))
            ending = "a frame came"
        } catch { ending = "\(error)" }
        #expect(ending.hasSuffix("aborted: limits.exceeded"), "\(ending); bank-b's channels ended: \(b.endings)")
        #expect(b.endings.contains { $0.contains("limits.exceeded") }, "\(b.endings)")
    }

    /// A parked responder session is bound to the peer that opened it: a claim naming another
    /// peer gets nothing, and a second opening under the same session id does not replace it.
    @Test func aParkedSessionIsClaimedOnlyByItsOwnPeer() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (a, b) = try pair(directory: directory)
        defer { b.stop() }
        let channel = try await a.connect(to: "bank-b")  // a channel whose peer is bank-b
        let other = try await a.connect(to: "bank-b")
        try a.park(session: "s-1", channel: channel)
        #expect(a.claim(session: "s-1", peer: "bank-c") == nil)
        #expect(throws: PartyError.self) { try a.responderChannel(session: "s-1", peer: "bank-c") }
        #expect(throws: PartyError.self) { try a.park(session: "s-1", channel: other) }
        #expect(try a.responderChannel(session: "s-1", peer: "bank-b") === channel)
        #expect(a.claim(session: "s-1", peer: "bank-b") == nil, "claimed once")
        channel.close()
        other.close()
    }

    /// A flood of raw TCP connections — garbage or silence instead of a TLS handshake — while a
    /// pinned peer probes: every probe is answered, and the audit log gains a few entries with the
    /// count, not one fsync and signature per connection.
    @Test func aFloodOfBadConnectionsNeitherStarvesAProbeNorFloodsTheAuditLog() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let audit = try AuditLog(
            directory: directory + "/audit", keyPath: directory + "/audit/appliance.key", digest: .sha256)
        let (a, b) = try pair(directory: directory, audit: audit) { settings in
            settings.maxPendingHandshakes = 8
            settings.handshakeTimeout = .seconds(1)
            settings.refusalAuditInterval = .seconds(1)
        }
        let port = UInt16(b.listeningPort!)
        let flood = 120
        var descriptors: [Int32] = []
        for index in 0..<flood {
            let descriptor = try TCP.dial(TCPAddress(host: "127.0.0.1", port: port), timeout: .seconds(5))
            if index % 2 == 0 {
                let garbage = [UInt8](repeating: UInt8(ascii: "x"), count: 256)
                _ = garbage.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            }
            descriptors.append(descriptor)
        }
        // With 120 connections just made and the silent ones still open, a pinned peer gets through.
        for _ in 0..<3 {
            let status = await a.probe("bank-b")
            #expect(status.state == "up", "\(status.lastError ?? ""); refused: \(b.refusals.suffix(3))")
        }
        for descriptor in descriptors { close(descriptor) }
        try await Task.sleep(for: .seconds(2.5))
        b.stop()
        let refusals = try audit.entries().compactMap { line -> String? in
            guard let entry = try JSONSerialization.jsonObject(with: line) as? [String: Any],
                entry["action"] as? String == "party.refused"
            else { return nil }
            return entry["detail"] as? String ?? ""
        }
        #expect(!refusals.isEmpty && refusals.count <= 6, "\(refusals.count) entries: \(refusals)")
        // Every refused connection is counted: the first entry names one, each later one its count.
        let counted = refusals.reduce(0) { total, detail in
            total + (detail.contains(" more refused connections from ") ? Int(detail.prefix { $0.isNumber }) ?? 0 : 1)
        }
        #expect(counted == flood, "\(refusals)")
        #expect(audit.verify().ok, "the chain still verifies")
    }
}
