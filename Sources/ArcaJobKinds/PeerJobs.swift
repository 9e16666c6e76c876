import ArcaAudit
import ArcaParty
import ArcaRuntime
import ArcaStore

/// The bridge from the party link to the runtime for jobs a peer opens.
public enum PeerJobs {
    /// Starts the responder's side of a job a peer opened: parks `channel` under the opening's
    /// session and submits the job to `runtime` with the peer as actor, so admission applies this
    /// appliance's grants; the job itself answers the peer (``PartyOpenReply``, without its id) when it
    /// runs and claims the channel with ``PartyLink/responderChannel(session:peer:)``. A refusal is
    /// answered here with its ``PeerCode`` alone (``code(for:)``); the detail is in the audit log.
    public static func serve(runtime: JobRuntime, link: PartyLink, peer: String, open: PartyOpen, channel: PartyChannel)
    {
        do {
            guard open.type == "job", let session = open.session, let kind = open.kind, let dataset = open.dataset,
                let purpose = open.purpose
            else {
                throw PartyRefusal(
                    .protocolBadMessage, "the opening message needs type job, session, kind, dataset and purpose")
            }
            var options: [String: SpecValue] = [:]
            for (key, value) in open.options ?? [:] {
                guard JobSpec.isName(key) else {
                    throw PartyRefusal(.protocolBadMessage, "option name \"\(key.prefix(40))\" is not a name")
                }
                switch value {
                case .string(let text): options[key] = .string(text)
                case .int(let number): options[key] = .int(number)
                case .double(let number): options[key] = .double(number)
                case .bool(let flag): options[key] = .bool(flag)
                }
            }
            try link.park(session: session, channel: channel)
            do {
                _ = try runtime.submitOpened(
                    kind: kind, dataset: dataset, purpose: purpose, partner: peer, session: session,
                    options: options)
            } catch {
                _ = link.claim(session: session, peer: peer)
                throw error
            }
        } catch {
            channel.send(refusal: code(for: error))
        }
    }

    /// What a peer is told when the job it opened is refused: the admission rule's code, or the
    /// class of the error — never its text.
    public static func code(for error: any Error) -> PeerCode {
        switch error {
        case let refusal as JobRefusal: return refusal.rule.peerCode
        case let error as JobRuntimeError where error.kind == .badRequest: return .refusedKind
        case is JobSpecError: return .protocolBadMessage
        case is DatasetError: return .refusedDataset
        default: return PeerCode(for: error)
        }
    }
}

extension AdmissionRule {
    /// The code a refused peer is told for this rule (one line per rule: a new rule must choose).
    public var peerCode: PeerCode {
        switch self {
        case .dataset, .datasetChanged: return .refusedDataset
        case .grantPartner, .grantPurpose, .grantRevoked, .grantExpired: return .refusedGrant
        case .grantQuota: return .refusedQuota
        case .peerJobs: return .limitsExceeded
        }
    }
}
