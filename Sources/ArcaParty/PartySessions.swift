import Foundation

extension PartyChannel {
    /// Answers an opening message with a refusal and closes.
    public func send(refusal reason: String) {
        try? send(control: PartyOpenReply(ok: false, reason: reason))
        close()
    }
}

extension PartyLink {
    /// The requester's side of starting a two-party job: connects to `peer`, sends the opening
    /// (`PartyOpen` with a fresh session), and waits up to 600 s for the peer's job to accept.
    /// - Throws: ``PartyError`` with the peer's refusal (its rule and reason), or the link's error;
    ///   the channel is closed or aborted then.
    public func openJob(peer: String, kind: String, dataset: String?, purpose: String, options: [String: PartyValue]) async throws -> PartyChannel {
        let channel = try await connect(to: peer)
        try channel.send(control: PartyOpen(type: "job", session: UUID().uuidString, kind: kind, dataset: dataset, purpose: purpose, options: options))
        let reply: PartyOpenReply
        do { reply = try await channel.receive(control: PartyOpenReply.self, timeout: .seconds(600)) } catch {
            channel.abort("\(error)"); throw error
        }
        guard reply.ok else {
            channel.close()
            throw PartyError("peer \(peer) refused: \(reply.reason ?? "no reason given")")
        }
        return channel
    }

    /// The responder's channel, parked by ``park(session:channel:expiry:)`` under `session` when `peer`
    /// opened the job.
    /// - Throws: ``PartyError`` when no such session from `peer` waits (a responder job is started only
    ///   by the link, and a session is bound to the peer that opened it).
    public func responderChannel(session: String, peer: String) throws -> PartyChannel {
        guard let parked = claim(session: session, peer: peer) else {
            throw PartyError("no link session \(session) from \(peer): a responder job is started only by the party link")
        }
        return parked
    }
}
