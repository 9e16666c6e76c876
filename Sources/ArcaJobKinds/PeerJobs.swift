import ArcaAudit
import ArcaParty
import ArcaRuntime

/// The bridge from the party link to the runtime for jobs a peer opens.
public enum PeerJobs {
    /// Starts the responder's side of a job a peer opened: parks `channel` under the opening's
    /// session and submits the job to `runtime` with the peer as actor, so admission applies this
    /// appliance's grants; the job itself answers the peer (``PartyOpenReply`` with its id) when it
    /// runs and claims the channel with ``PartyLink/responderChannel(session:peer:)``. A refusal is
    /// answered here.
    public static func serve(runtime: JobRuntime, link: PartyLink, peer: String, open: PartyOpen, channel: PartyChannel) {
        do {
            guard open.type == "job", let session = open.session, let kind = open.kind, let dataset = open.dataset,
                let purpose = open.purpose
            else {
                throw PartyError("the opening message needs type job, session, kind, dataset and purpose")
            }
            var options: [String: SpecValue] = [:]
            for (key, value) in open.options ?? [:] {
                guard JobSpec.isName(key) else { throw PartyError("option name \"\(key.prefix(40))\" is not a name") }
                switch value {
                case .string(let text): options[key] = .string(text)
                case .int(let number): options[key] = .int(number)
                case .double(let number): options[key] = .double(number)
                case .bool(let flag): options[key] = .bool(flag)
                }
            }
            try link.park(session: session, channel: channel)
            do {
                _ = try runtime.submitOpened(kind: kind, dataset: dataset, purpose: purpose, partner: peer, session: session,
                                             options: options)
            } catch {
                _ = link.claim(session: session, peer: peer)
                throw error
            }
        } catch {
            channel.send(refusal: "\(error)")
        }
    }
}
