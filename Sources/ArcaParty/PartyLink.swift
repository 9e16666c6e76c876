import ArcaAudit
import ArcaCrypto
import ArcaSystem
import Foundation
import Glibc
import Synchronization

/// A partner appliance: its name, where it listens and its pinned certificate.
public struct PartyPeer: Sendable, Equatable {
    public var name: String
    /// `host:port`.
    public var address: String
    /// PEM file of the peer's certificate; the link accepts exactly this certificate (its DER's SHA-256).
    public var certificateFile: String
    public init(name: String, address: String, certificateFile: String) {
        self.name = name; self.address = address; self.certificateFile = certificateFile
    }
}

/// The party link's settings (`[party]` of arcad's configuration).
public struct PartySettings: Sendable, Equatable {
    /// This appliance's name as its peers know it.
    public var name: String
    /// `host:port` to listen on for peers; nil: no listener (this appliance only calls out).
    public var listen: String?
    public var certificateFile: String
    public var keyFile: String
    /// Largest frame, in bytes (type byte and payload).
    public var maxFrameBytes: Int
    /// Seconds between heartbeats on a quiet channel; four missed heartbeats end it.
    public var heartbeatSeconds: Double
    public var peers: [PartyPeer]
    /// Inbound connections in their TLS handshake at once. A connection beyond it closes the oldest
    /// pending handshake of the address that holds the most (so one flooding address cannot starve
    /// the others, and a prompt handshake still completes during a flood).
    public var maxPendingHandshakes = 32
    /// An inbound TLS handshake not done within this is closed (a real deadline, not a per-read timeout).
    public var handshakeTimeout: Duration = .seconds(10)
    /// Refused inbound connections from one address are audited at most once per this interval: the
    /// first at once, the rest as one `party.refused` entry with their count when the interval ends.
    public var refusalAuditInterval: Duration = .seconds(60)
    /// Bytes of received frames a channel holds unread; a peer that sends more has the channel
    /// aborted with `limits.exceeded`.
    public var maxInboxBytes = 64 << 20
    public init(name: String, listen: String?, certificateFile: String, keyFile: String, maxFrameBytes: Int = 16 << 20,
                heartbeatSeconds: Double = 2, peers: [PartyPeer]) {
        self.name = name; self.listen = listen; self.certificateFile = certificateFile; self.keyFile = keyFile
        self.maxFrameBytes = maxFrameBytes; self.heartbeatSeconds = heartbeatSeconds; self.peers = peers
    }
}

/// The first message on a channel, from the side that opened it.
public struct PartyOpen: Codable, Sendable {
    /// `ping` (a probe: answered and closed) or `job` (run the responder's side of a job).
    public var type: String
    /// The job's session id: the same on both appliances.
    public var session: String?
    /// The job kind, the responder's own dataset, the purpose and the kind's options as the
    /// responder should run them.
    public var kind: String?
    public var dataset: String?
    public var purpose: String?
    public var options: [String: PartyValue]?
    public init(type: String, session: String? = nil, kind: String? = nil, dataset: String? = nil, purpose: String? = nil,
                options: [String: PartyValue]? = nil) {
        self.type = type; self.session = session; self.kind = kind; self.dataset = dataset; self.purpose = purpose; self.options = options
    }
}

/// One option value in an opening message, typed as JSON carries it: a string, an integer, a
/// double or a boolean (nothing else decodes).
public enum PartyValue: Codable, Sendable, Equatable {
    case string(String), int(Int), double(Double), bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "an option is a string, number or boolean") }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }
}

/// The answer to ``PartyOpen``.
public struct PartyOpenReply: Codable, Sendable {
    public var ok: Bool
    /// The responder's job id, when it accepted.
    public var job: Int?
    /// Why it refused.
    public var reason: String?
    public init(ok: Bool, job: Int? = nil, reason: String? = nil) { self.ok = ok; self.job = job; self.reason = reason }
}

/// How a peer's link stands, for `arcactl peers`.
public struct PartyPeerStatus: Sendable {
    public var name: String
    public var address: String
    public var certificateSHA256: String
    /// `up` (a probe just completed the TLS 1.3 handshake with the pinned certificate and was
    /// answered), `down` (with ``lastError``), or `unknown` (not probed).
    public var state: String
    public var openChannels: Int
    public var lastContact: Date?
    public var lastError: String?
    public var roundTripMilliseconds: Double?
}

/// The authenticated link between this appliance and its peers: TLS 1.3, both sides presenting a
/// certificate, each pinned (SHA-256 of the DER) in the other's configuration. A connection whose
/// peer presents any other certificate is closed before any message and the refusal audited
/// (`party.refused`). Each job runs on its own ``PartyChannel``.
public final class PartyLink: Sendable {
    public let settings: PartySettings
    let serverContext: TLSContext
    let clientContext: TLSContext
    let pins: [String: String]  // SHA-256 → peer name
    let audit: AuditLog?
    /// Handles a peer's opening message on a new inbound channel (the server installs it).
    public typealias OpenHandler = @Sendable (_ peer: String, _ open: PartyOpen, _ channel: PartyChannel) async -> Void
    struct Live {
        var handler: OpenHandler?
        var parked: [String: Parked] = [:]
        var open: [String: Int] = [:]
        var lastContact: [String: Date] = [:]
        var lastError: [String: String] = [:]
        var listener: Int32 = -1
        var stopped = false
        var refusals: [String] = []
        var endings: [String] = []
        /// Inbound connections in their handshake, by a serial number.
        var pending: [UInt64: PendingHandshake] = [:]
        var nextPending: UInt64 = 0
        /// Refusals per remote address not yet audited, in the current interval.
        var tallies: [String: RefusalTally] = [:]
    }
    /// A channel a peer opened for a job, until that job claims it.
    struct Parked {
        var channel: PartyChannel
        var peer: String { channel.peer }
    }
    struct PendingHandshake {
        var host: String
        var descriptor: Int32
        var started: ContinuousClock.Instant
        /// Why the link closed it (evicted, timed out); nil while it runs.
        var cut: String?
    }
    struct RefusalTally {
        var since: ContinuousClock.Instant
        var count = 0
        var last = ""
    }
    let live = Mutex(Live())
    /// The port the listener is bound to (useful with port 0).
    public var listeningPort: Int? {
        live.withLock { live in
            guard live.listener >= 0 else { return nil }
            return TCP.localPort(live.listener).map(Int.init)
        }
    }

    /// Loads this appliance's certificate and key and every peer's pinned certificate.
    /// - Throws: ``TLSError`` or ``PartyError`` naming the file or peer that cannot be used.
    public init(settings: PartySettings, audit: AuditLog?) throws {
        self.settings = settings; self.audit = audit
        // A peer that vanishes mid-write must fail the write (EPIPE), not kill the process: OpenSSL
        // writes to the socket with write(2), which raises SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        serverContext = try TLSContext(certificateFile: settings.certificateFile, keyFile: settings.keyFile, server: true)
        clientContext = try TLSContext(certificateFile: settings.certificateFile, keyFile: settings.keyFile, server: false)
        var pins: [String: String] = [:]
        for peer in settings.peers {
            let pin = try Certificate.sha256(pemFile: peer.certificateFile)
            if let other = pins[pin] { throw PartyError("peers \(other) and \(peer.name) pin the same certificate \(peer.certificateFile)") }
            pins[pin] = peer.name
        }
        self.pins = pins
    }

    /// SHA-256 (hex) of this appliance's certificate: what peers pin.
    public var certificateSHA256: String { serverContext.certificateSHA256 }

    var heartbeat: Duration { .milliseconds(Int(settings.heartbeatSeconds * 1000)) }

    // MARK: Listening

    /// Starts listening on ``PartySettings/listen`` (when set); `handler` gets every authenticated
    /// peer's opening message.
    /// - Throws: ``PartyError`` when the address cannot be bound.
    public func start(handler: @escaping OpenHandler) throws {
        live.withLock { $0.handler = handler }
        guard let listen = settings.listen else { return }
        let descriptor: Int32
        do {
            descriptor = try TCP.listen(try TCPAddress(parsing: listen)).descriptor
        } catch {
            throw PartyError("party listen \(listen): \(error)")
        }
        live.withLock { $0.listener = descriptor }
        let thread = Thread { [self] in self.acceptLoop(descriptor) }
        thread.name = "arca-party-accept"
        thread.start()
        let watchdog = Thread { [self] in self.watch() }
        watchdog.name = "arca-party-watchdog"
        watchdog.start()
    }

    /// Stops listening; open channels are aborted; refusals not yet audited are.
    public func stop() {
        let (descriptor, channels) = live.withLock { live -> (Int32, [PartyChannel]) in
            live.stopped = true
            defer { live.listener = -1; live.parked = [:] }
            for (id, handshake) in live.pending where handshake.cut == nil {
                live.pending[id]!.cut = "arcad is stopping"
                Glibc.shutdown(handshake.descriptor, Int32(SHUT_RDWR))
            }
            return (live.listener, Array(live.parked.values.map(\.channel)))
        }
        if descriptor >= 0 { Glibc.shutdown(descriptor, Int32(SHUT_RDWR)); Glibc.close(descriptor) }
        for channel in channels { channel.abort("arcad is stopping") }
        flushRefusals(all: true)
    }

    private func acceptLoop(_ listener: Int32) {
        // Returns when the listener was closed. A thread per connection, at most
        // maxPendingHandshakes of them in their handshake.
        while let (descriptor, remote) = TCP.accept(listener) {
            let id = live.withLock { live -> UInt64? in
                guard !live.stopped else { return nil }
                let running = live.pending.filter { $0.value.cut == nil }
                if running.count >= settings.maxPendingHandshakes {
                    // Close the oldest pending handshake of the address that holds the most.
                    let byHost = Dictionary(grouping: running, by: { $0.value.host })
                    let busiest = byHost.max { a, b in
                        a.value.count != b.value.count ? a.value.count < b.value.count
                            : a.value.map(\.value.started).min()! > b.value.map(\.value.started).min()!
                    }!
                    let victim = busiest.value.min { $0.value.started < $1.value.started }!
                    live.pending[victim.key]!.cut = "closed: \(settings.maxPendingHandshakes) handshakes were pending"
                    Glibc.shutdown(victim.value.descriptor, Int32(SHUT_RDWR))
                }
                live.nextPending += 1
                live.pending[live.nextPending] = PendingHandshake(host: remote.host, descriptor: descriptor,
                                                                  started: .now)
                return live.nextPending
            }
            guard let id else { Glibc.close(descriptor); return }
            let thread = Thread { [self] in self.serve(descriptor, remote: remote, pending: id) }
            thread.start()
        }
    }

    /// The watchdog: cuts handshakes past their deadline and audits the refusal tallies whose
    /// interval ended. Returns when the link stops.
    private func watch() {
        while !live.withLock({ $0.stopped }) {
            usleep(200_000)
            let now = ContinuousClock.now
            live.withLock { live in
                for (id, handshake) in live.pending
                where handshake.cut == nil && now - handshake.started > settings.handshakeTimeout {
                    live.pending[id]!.cut = "no TLS handshake within \(settings.handshakeTimeout.description)"
                    Glibc.shutdown(handshake.descriptor, Int32(SHUT_RDWR))
                }
            }
            flushRefusals(all: false)
        }
    }

    /// Serves one inbound connection: the TLS handshake (under the watchdog's deadline), the pin,
    /// then the channel. The descriptor is closed only after the connection left the pending table,
    /// so the watchdog never shuts down a descriptor that was reused.
    private func serve(_ descriptor: Int32, remote address: TCPAddress, pending id: UInt64) {
        let remote = address.description
        TCP.setTimeouts(descriptor, settings.handshakeTimeout)
        var connection: TLSConnection?
        var failure: (any Error)?
        do {
            let made = try TLSConnection(context: serverContext, descriptor: descriptor, server: true)
            connection = made
            try made.handshake()
        } catch { failure = error }
        let cut = live.withLock { $0.pending.removeValue(forKey: id)?.cut }
        guard let connection else {
            Glibc.close(descriptor)
            refused("connection from \(remote): \(failure!)", from: address.host)
            return
        }
        if let cut { refused("connection from \(remote): \(cut)", from: address.host); return }
        if let failure { refused("connection from \(remote): \(failure)", from: address.host); return }
        guard let pin = connection.peerCertificateSHA256, let peer = pins[pin] else {
            let presented = connection.peerCertificateSHA256 ?? "(none)"
            refused("connection from \(remote) presented certificate sha256 \(presented), pinned for no peer;"
                    + " closed before any message", from: address.host)
            return
        }
        TCP.setTimeouts(descriptor, .zero)
        let channel = channel(peer: peer, connection: connection)
        guard let handler = live.withLock({ $0.handler }) else { channel.abort("not serving"); return }
        Task {
            do {
                let open = try await channel.receive(control: PartyOpen.self, timeout: .seconds(30))
                if open.type == "ping" {
                    try channel.send(control: PartyOpenReply(ok: true))
                    channel.close()
                    return
                }
                await handler(peer, open, channel)
            } catch {
                channel.abort("\(error)")
            }
        }
    }

    /// Records a refused connection. Outbound ones (`from` nil) are audited at once. Inbound ones are
    /// tallied per remote address: the first of an interval is audited at once, the others as one
    /// entry with their count when the interval ends (``PartySettings/refusalAuditInterval``), so a
    /// flood costs one fsync and signature per address per interval, not one per connection.
    private func refused(_ detail: String, from host: String? = nil) {
        let now = ContinuousClock.now
        let auditNow = live.withLock { live -> Bool in
            live.refusals.append("\(AuditLog.timestamp(Date())) \(detail)")
            if live.refusals.count > 20 { live.refusals.removeFirst() }
            guard let host else { return true }
            // At most 1024 addresses are tallied apart; the rest share one tally.
            let key = live.tallies[host] != nil || live.tallies.count < 1024 ? host : "other addresses"
            if live.tallies[key] == nil {
                live.tallies[key] = RefusalTally(since: now)
                return true
            }
            live.tallies[key]!.count += 1
            live.tallies[key]!.last = detail
            return false
        }
        if auditNow {
            _ = try? audit?.append(AuditRecord(action: "party.refused", actor: .daemon, result: "refused",
                                               detail: detail))
        }
    }

    /// Audits each address's refusals whose interval has ended (every one with `all`), one entry per
    /// address with the count. An address with none in its interval is forgotten; one with some
    /// starts a new interval (its next refusal is counted, not audited at once).
    private func flushRefusals(all: Bool) {
        let now = ContinuousClock.now
        let interval = settings.refusalAuditInterval
        let due = live.withLock { live -> [(String, RefusalTally)] in
            var due: [(String, RefusalTally)] = []
            for (host, tally) in live.tallies where all || now - tally.since >= interval {
                if tally.count > 0 {
                    due.append((host, tally))
                    live.tallies[host] = all ? nil : RefusalTally(since: now)
                } else {
                    live.tallies[host] = nil
                }
            }
            return due
        }
        for (host, tally) in due.sorted(by: { $0.0 < $1.0 }) {
            let seconds = Int((now - tally.since).seconds.rounded())
            _ = try? audit?.append(AuditRecord(action: "party.refused", actor: .daemon, result: "refused",
                                               detail: "\(tally.count) more refused connections from \(host) in"
                                                   + " \(seconds) s; the last: \(tally.last)"))
        }
    }

    /// How the last 20 channels ended (`link to bank-b: closed`, a peer's abort, a lost peer), oldest first.
    public var endings: [String] { live.withLock { $0.endings } }

    /// The last 20 refused connections (inbound or outbound), oldest first, each with its time.
    public var refusals: [String] { live.withLock { $0.refusals } }

    private func channel(peer: String, connection: TLSConnection) -> PartyChannel {
        live.withLock { $0.open[peer, default: 0] += 1; $0.lastContact[peer] = Date(); $0.lastError[peer] = nil }
        return PartyChannel(peer: peer, connection: connection, maxFrameBytes: settings.maxFrameBytes,
                            maxInboxBytes: settings.maxInboxBytes, heartbeat: heartbeat) { [self] channel in
            let ending = channel.state.withLock { $0.failure?.description } ?? "ended"
            live.withLock { live in
                live.open[channel.peer, default: 1] -= 1
                live.endings.append("\(AuditLog.timestamp(Date())) \(ending)")
                if live.endings.count > 20 { live.endings.removeFirst() }
            }
        }
    }

    // MARK: Calling out

    /// Opens an authenticated channel to `peer`: TCP connect, TLS 1.3 handshake, and the peer's
    /// certificate checked against its pin (a mismatch is audited as `party.refused`).
    /// - Throws: ``PartyError`` naming the peer and the failing step.
    public func connect(to name: String, timeout: Duration = .seconds(10)) async throws -> PartyChannel {
        guard let peer = settings.peers.first(where: { $0.name == name }) else {
            throw PartyError("no peer named \"\(name)\" in [party] of the configuration; peers: \(settings.peers.map(\.name).joined(separator: ", "))")
        }
        let seconds = max(1, Int(timeout.components.seconds))
        let context = clientContext, pins = pins
        do {
            let connection: TLSConnection = try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    continuation.resume(with: Result {
                        let descriptor = try TCP.dial(try TCPAddress(parsing: peer.address), timeout: .seconds(seconds))
                        let connection = try TLSConnection(context: context, descriptor: descriptor, server: false)
                        do { try connection.handshake() } catch { throw PartyError("peer \(name) at \(peer.address): \(error)") }
                        let pin = connection.peerCertificateSHA256
                        guard let pin, pins[pin] == name else {
                            throw PinMismatch(detail: "peer \(name) at \(peer.address) presented certificate sha256 \(pin ?? "(none)"), not the one pinned for it; closed before any message")
                        }
                        TCP.setTimeouts(descriptor, .zero)
                        return connection
                    })
                }
                thread.start()
            }
            return channel(peer: name, connection: connection)
        } catch let mismatch as PinMismatch {
            refused(mismatch.detail)
            live.withLock { $0.lastError[name] = mismatch.detail }
            throw PartyError(mismatch.detail)
        } catch {
            live.withLock { $0.lastError[name] = "\(error)" }
            throw error
        }
    }

    struct PinMismatch: Error { var detail: String }

    /// Connects to `peer`, sends a ping and waits for its answer.
    public func probe(_ name: String, timeout: Duration = .seconds(5)) async -> PartyPeerStatus {
        let peer = settings.peers.first { $0.name == name }
        let start = ContinuousClock.now
        var status = PartyPeerStatus(name: name, address: peer?.address ?? "", certificateSHA256: pins.first { $0.value == name }?.key ?? "",
                                     state: "down", openChannels: 0, lastContact: nil, lastError: nil, roundTripMilliseconds: nil)
        do {
            let channel = try await connect(to: name, timeout: timeout)
            try channel.send(control: PartyOpen(type: "ping"))
            let reply = try await channel.receive(control: PartyOpenReply.self, timeout: timeout)
            channel.close()
            guard reply.ok else { throw PartyError("peer \(name) refused the ping: \(reply.reason ?? "")") }
            status.state = "up"
            status.roundTripMilliseconds = (ContinuousClock.now - start).milliseconds
            live.withLock { $0.lastError[name] = nil }
        } catch {
            status.lastError = "\(error)"
            live.withLock { $0.lastError[name] = "\(error)" }
        }
        live.withLock { live in
            status.openChannels = live.open[name] ?? 0
            status.lastContact = live.lastContact[name]
        }
        return status
    }

    /// Every configured peer, probed now.
    public func probeAll() async -> [PartyPeerStatus] {
        await withTaskGroup(of: PartyPeerStatus.self) { group in
            for peer in settings.peers { group.addTask { await self.probe(peer.name) } }
            var all: [PartyPeerStatus] = []
            for await status in group { all.append(status) }
            return all.sorted { $0.name < $1.name }
        }
    }

    // MARK: Sessions

    /// Keeps `channel` for the responder job of `session` until it claims it, bound to the peer that
    /// opened it (``PartyChannel/peer``): only a claim naming that peer gets it. A channel still
    /// unclaimed after `expiry` (the job failed before it ran, or waited that long in the queue) is
    /// aborted, so the peer's job fails instead of waiting.
    /// - Throws: ``PartyError`` when a channel is already parked under `session` (a second opening
    ///   with the same session id, from this peer or another, does not replace the first).
    public func park(session: String, channel: PartyChannel, expiry: Duration = .seconds(600)) throws {
        try live.withLock { live in
            guard live.parked[session] == nil else {
                throw PartyError("link session \(session.prefix(64)) from \(channel.peer): a channel is already parked"
                                 + " under it")
            }
            live.parked[session] = Parked(channel: channel)
        }
        Task { [self] in
            try? await Task.sleep(for: expiry)
            let expired = live.withLock { live -> PartyChannel? in
                guard let parked = live.parked[session], parked.channel === channel else { return nil }
                return live.parked.removeValue(forKey: session)?.channel
            }
            expired?.abort("the responder's job did not start within \(expiry.description)")
        }
    }

    /// The channel parked for `session` by `peer` (taken: a second claim gets nil). A claim naming
    /// another peer gets nil and leaves the channel parked for its own job.
    public func claim(session: String, peer: String) -> PartyChannel? {
        live.withLock { live in
            guard let parked = live.parked[session], parked.peer == peer else { return nil }
            return live.parked.removeValue(forKey: session)?.channel
        }
    }

}
