import ArcaCrypto
import Foundation
import Glibc
import Synchronization

/// A failure of the party link: the peer and what happened.
public struct PartyError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One message on a party channel.
///
/// On the wire a frame is a 4-byte big-endian length `L` (1 + payload bytes, at most the link's
/// `max_frame_bytes`), a 1-byte type and the payload. Types: 0 heartbeat (never delivered),
/// 1 control (JSON), 2 data (binary), 3 abort (UTF-8 reason: the peer gave up; receiving one fails
/// the channel with that reason).
public struct PartyFrame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case heartbeat = 0, control = 1, data = 2, abort = 3 }
    public var kind: Kind
    public var payload: [UInt8]
    public init(_ kind: Kind, _ payload: [UInt8]) { self.kind = kind; self.payload = payload }
}

/// An authenticated, framed, full-duplex channel to one peer over TLS 1.3: one job's session (or
/// a probe). Sending queues the frame and returns; an I/O thread owns the TLS connection, writes
/// queued frames, reads and delivers frames in order, sends a heartbeat when the channel has been
/// quiet for `heartbeat` and declares the peer dead after `4 × heartbeat` without any frame.
///
/// Every failure — the peer's abort, a closed or reset connection, a silent peer, a frame over the
/// limit — ends the channel: pending and later ``receive(timeout:)`` calls throw ``PartyError``
/// naming the peer and the cause.
public final class PartyChannel: Sendable {
    /// The peer's name (from its pinned certificate).
    public let peer: String
    /// Largest frame accepted or sent, in bytes (type byte and payload).
    public let maxFrameBytes: Int
    /// Most payload bytes of received frames held unread; a peer that sends more has the channel
    /// aborted (`limits.exceeded` to the peer).
    public let maxInboxBytes: Int
    let connection: TLSConnection
    let heartbeat: Duration
    /// A pipe whose read end wakes the I/O thread from `poll` when frames are queued.
    let wake: (read: Int32, write: Int32)
    struct State {
        var outbox: [UInt8] = []
        var inbox: [PartyFrame] = []
        var inboxBytes = 0
        var waiters: [(UInt64, CheckedContinuation<PartyFrame, any Error>)] = []
        var failure: PartyError?
        var closing = false
        var nextWaiter: UInt64 = 0
        var bytesSent = 0, bytesReceived = 0
    }
    let state = Mutex(State())
    let onEnd: @Sendable (PartyChannel) -> Void

    init(peer: String, connection: TLSConnection, maxFrameBytes: Int, maxInboxBytes: Int = 64 << 20,
         heartbeat: Duration, onEnd: @escaping @Sendable (PartyChannel) -> Void) {
        self.peer = peer; self.connection = connection; self.maxFrameBytes = maxFrameBytes; self.heartbeat = heartbeat; self.onEnd = onEnd
        self.maxInboxBytes = maxInboxBytes
        var ends: [Int32] = [0, 0]
        _ = pipe(&ends)
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK); _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wake = (ends[0], ends[1])
        let flags = fcntl(connection.descriptor, F_GETFL)
        _ = fcntl(connection.descriptor, F_SETFL, flags | O_NONBLOCK)
        let thread = Thread { [self] in self.run() }
        thread.name = "arca-party-\(peer)"
        thread.start()
    }

    deinit { Glibc.close(wake.read); Glibc.close(wake.write) }

    /// Bytes sent and received so far (frames with their headers).
    public var traffic: (sent: Int, received: Int) { state.withLock { ($0.bytesSent, $0.bytesReceived) } }

    /// Queues `frame` for sending.
    /// - Throws: ``PartyError`` when the channel has ended or the frame is over ``maxFrameBytes``.
    public func send(_ frame: PartyFrame) throws {
        let length = frame.payload.count + 1
        guard length <= maxFrameBytes else {
            throw PartyError("link to \(peer): a frame of \(length) bytes is over the limit of \(maxFrameBytes) bytes")
        }
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            guard !state.closing else { throw PartyError("link to \(peer): closed") }
            state.outbox += [UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                             UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length), frame.kind.rawValue]
            state.outbox += frame.payload
        }
        signal()
    }

    /// Queues `value` as a control frame (JSON).
    public func send<T: Encodable>(control value: T) throws {
        try send(PartyFrame(.control, Array(try JSONEncoder().encode(value))))
    }

    /// The next frame (control or data) from the peer.
    /// - Parameter timeout: how long to wait for it (heartbeats keep a live peer's channel open,
    ///   this bounds a live but stuck one); nil waits as long as the peer is alive.
    /// - Throws: ``PartyError`` when the channel ends or the time passes; `CancellationError` when
    ///   the task is cancelled (the channel is then aborted).
    public func receive(timeout: Duration? = nil) async throws -> PartyFrame {
        let id = state.withLock { state -> UInt64 in state.nextWaiter += 1; return state.nextWaiter }
        let timer = timeout.map { timeout in
            Task { [self] in
                try await Task.sleep(for: timeout)
                fail(id: id, PartyError("link to \(peer): no message within \(timeout.description) while waiting for the peer"))
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Result<PartyFrame, any Error>? = state.withLock { state in
                    if !state.inbox.isEmpty {
                        let frame = state.inbox.removeFirst()
                        state.inboxBytes -= frame.payload.count
                        return .success(frame)
                    }
                    if let failure = state.failure { return .failure(failure) }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            abort("cancelled")
        }
    }

    /// The next control frame decoded as `T`.
    /// - Throws: ``PartyError`` when a data frame or a malformed message comes instead.
    public func receive<T: Decodable>(control type: T.Type, timeout: Duration? = nil) async throws -> T {
        let frame = try await receive(timeout: timeout)
        guard frame.kind == .control else { throw PartyError("link to \(peer): expected a control message, got a \(frame.kind) frame of \(frame.payload.count) bytes") }
        do { return try JSONDecoder().decode(T.self, from: Data(frame.payload)) } catch {
            throw PartyError("link to \(peer): malformed control message: \(error)")
        }
    }

    /// Sends an abort frame with `reason` (the peer's channel fails with it) and ends the channel.
    public func abort(_ reason: String) {
        let payload = Array(reason.utf8.prefix(4000))
        state.withLock { state in
            guard state.failure == nil, !state.closing else { return }
            let length = payload.count + 1
            state.outbox += [0, 0, UInt8(length >> 8), UInt8(length & 0xff), PartyFrame.Kind.abort.rawValue] + payload
            state.closing = true
        }
        signal()
    }

    /// Ends the channel after the queued frames are written (close_notify).
    public func close() {
        state.withLock { $0.closing = true }
        signal()
    }

    /// True once the channel has failed or closed.
    public var hasEnded: Bool { state.withLock { $0.failure != nil } }

    private func signal() {
        var one: UInt8 = 1
        _ = Glibc.write(wake.write, &one, 1)
    }

    private func fail(id: UInt64, _ error: PartyError) {
        let waiter = state.withLock { state -> CheckedContinuation<PartyFrame, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.0 == id }) else { return nil }
            return state.waiters.remove(at: index).1
        }
        waiter?.resume(throwing: error)
    }

    /// Ends the channel with `error`: every waiter fails.
    private func end(_ error: PartyError) {
        let waiters = state.withLock { state -> [CheckedContinuation<PartyFrame, any Error>] in
            if state.failure == nil { state.failure = error }
            defer { state.waiters = [] }
            return state.waiters.map(\.1)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// Hands `frame` to the first waiter, else keeps it in the inbox. Returns false, keeping nothing,
    /// when the inbox would hold more than ``maxInboxBytes``.
    private func deliver(_ frame: PartyFrame) -> Bool {
        let (waiter, kept) = state.withLock { state -> (CheckedContinuation<PartyFrame, any Error>?, Bool) in
            if !state.waiters.isEmpty { return (state.waiters.removeFirst().1, true) }
            guard state.inboxBytes + frame.payload.count <= maxInboxBytes else { return (nil, false) }
            state.inbox.append(frame)
            state.inboxBytes += frame.payload.count
            return (nil, true)
        }
        waiter?.resume(returning: frame)
        return kept
    }

    /// Ends the channel with `error` and queues an abort frame with `code` for the peer (written
    /// before the connection closes), whatever state the channel is in.
    private func fail(_ error: PartyError, abortingWith code: String) {
        end(error)
        let payload = Array(code.utf8)
        state.withLock { state in
            state.outbox += [0, 0, 0, UInt8(payload.count + 1), PartyFrame.Kind.abort.rawValue] + payload
            state.closing = true
        }
    }

    /// The I/O thread: the only user of the TLS connection after the handshake.
    private func run() {
        defer { onEnd(self) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var lastReceived = ContinuousClock.now, lastSent = ContinuousClock.now
        let dead = heartbeat * 4
        func finish(_ error: PartyError) {
            end(error)
            connection.shutdown()
        }
        while true {
            // Write what is queued.
            var waitWritable = false
            while true {
                let (chunk, closing): ([UInt8], Bool) = state.withLock { ($0.outbox.prefix(1 << 16).map { $0 }, $0.closing) }
                if chunk.isEmpty {
                    if closing { finish(PartyError("link to \(peer): closed")); return }
                    break
                }
                let io: TLSConnection.IO
                do { io = try chunk.withUnsafeBytes { try connection.write($0) } } catch {
                    finish(PartyError("link to \(peer): \(error)")); return
                }
                switch io {
                case .done(let count):
                    state.withLock { $0.outbox.removeFirst(count); $0.bytesSent += count }
                    lastSent = .now
                    continue
                case .wantWrite, .wantRead: waitWritable = true
                case .closed: finish(PartyError("link to \(peer): the peer closed the connection")); return
                }
                break
            }
            // Read what has arrived.
            reading: while true {
                if state.withLock({ $0.failure != nil }) { break reading }
                let io: TLSConnection.IO
                do { io = try buffer.withUnsafeMutableBytes { try connection.read(into: $0) } } catch {
                    finish(PartyError("link to \(peer): \(error)")); return
                }
                switch io {
                case .done(let count):
                    received += buffer[0..<count]
                    lastReceived = .now
                    state.withLock { $0.bytesReceived += count }
                    var offset = 0
                    while received.count - offset >= 4 {
                        let length = Int(received[offset]) << 24 | Int(received[offset + 1]) << 16 | Int(received[offset + 2]) << 8 | Int(received[offset + 3])
                        guard length >= 1, length <= maxFrameBytes else {
                            finish(PartyError("link to \(peer): the peer sent a frame of \(length) bytes; the limit is \(maxFrameBytes) bytes")); return
                        }
                        guard received.count - offset - 4 >= length else { break }
                        let type = received[offset + 4]
                        let payload = Array(received[(offset + 5)..<(offset + 4 + length)])
                        offset += 4 + length
                        switch PartyFrame.Kind(rawValue: type) {
                        case .heartbeat: break
                        case .abort:
                            finish(PartyError("peer \(peer) aborted: \(String(decoding: payload, as: UTF8.self))")); return
                        case .control, .data:
                            if !deliver(PartyFrame(PartyFrame.Kind(rawValue: type)!, payload)) {
                                let detail = "the peer sent over \(maxInboxBytes) bytes of frames not yet read"
                                fail(PartyError("link to \(peer): \(detail); aborted (limits.exceeded)"),
                                     abortingWith: "limits.exceeded")
                                received = []
                                offset = 0
                                break reading
                            }
                        case nil: finish(PartyError("link to \(peer): unknown frame type \(type)")); return
                        }
                    }
                    if offset > 0 { received.removeFirst(offset) }
                case .wantRead, .wantWrite: break reading
                case .closed: finish(PartyError("link to \(peer): the peer closed the connection")); return
                }
            }
            let now = ContinuousClock.now
            if now - lastReceived > dead {
                finish(PartyError("link to \(peer): no heartbeat for \(dead.description); the peer is gone")); return
            }
            if now - lastSent >= heartbeat, state.withLock({ state -> Bool in
                guard state.outbox.isEmpty else { return false }
                state.outbox += [0, 0, 0, 1, PartyFrame.Kind.heartbeat.rawValue]
                return true
            }) {
                continue
            }
            var descriptors = [pollfd(fd: connection.descriptor, events: Int16(POLLIN) | (waitWritable ? Int16(POLLOUT) : 0), revents: 0),
                               pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            _ = poll(&descriptors, 2, 200)
            if descriptors[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                while Glibc.read(wake.read, &drain, 256) > 0 {}
            }
        }
    }
}
