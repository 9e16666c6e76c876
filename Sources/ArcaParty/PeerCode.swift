/// Everything an appliance tells its peer when it refuses a job or gives one up: a fixed code from
/// this closed list, and nothing else. The detail (paths, lines, the header, other partners of a
/// grant, who revoked it, quota usage, digests, a decrypted value) stays in the local job's reason
/// and the audit log.
///
/// On the wire the code is its raw value: the `reason` of a refused ``PartyOpenReply`` and the
/// payload of an abort frame. A peer that sends anything else is shown as ``unknown``.
public enum PeerCode: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// No standing grant of the dataset to this peer for the purpose (missing, revoked or expired).
    case refusedGrant = "refused.grant"
    /// A kind this appliance does not let a peer open.
    case refusedKind = "refused.kind"
    /// The dataset is not registered, has changed since, or cannot be used for this job.
    case refusedDataset = "refused.dataset"
    /// The grant's quota of rows for the day is spent.
    case refusedQuota = "refused.quota"
    /// A message (or an opening's option) the protocol does not allow.
    case protocolBadMessage = "protocol.badMessage"
    /// A zero-knowledge proof that does not verify.
    case protocolBadProof = "protocol.badProof"
    /// A public key that fails this appliance's checks.
    case protocolBadKey = "protocol.badKey"
    /// A value over a limit this appliance's operator set (items, bins, key size, intersection).
    case limitsExceeded = "limits.exceeded"
    /// The job was cancelled here.
    case cancelled = "cancelled"
    /// This arcad is stopping.
    case stopping = "stopping"
    /// The peer was silent past the time allowed (or the responder's job never started).
    case timeout = "timeout"
    /// Anything else that went wrong on this side.
    case `internal` = "internal"
    /// Only for what a peer sent: not a code of this list.
    case unknown = "unknown"

    public var description: String { rawValue }

    /// The code a peer sent (`unknown` for anything not on the list).
    public init(received text: String) { self = PeerCode(rawValue: text) ?? .unknown }

    /// The code to tell the peer for `error`: a ``PartyRefusal``'s own code, `cancelled` for a
    /// cancellation, else `internal`.
    public init(for error: any Error) {
        switch error {
        case let refusal as PartyRefusal: self = refusal.code
        case is CancellationError: self = .cancelled
        default: self = .internal
        }
    }
}

/// A failure whose detail stays on this appliance while the peer is told only ``code``.
public struct PartyRefusal: Error, CustomStringConvertible, Sendable {
    public var code: PeerCode
    public var detail: String
    public init(_ code: PeerCode, _ detail: String) { self.code = code; self.detail = detail }
    public var description: String { "\(detail) (told the peer \(code))" }
}
