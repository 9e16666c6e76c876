import Foundation

// MARK: - /v1/peers

/// `GET /v1/peers`: this appliance's party link and each configured peer, probed now (a TLS 1.3
/// handshake with the pinned certificate and a ping, at most 5 s each).
public struct PeersResponse: Codable, Sendable, Equatable {
    /// This appliance's name; `null` when `[party]` configures no link.
    @Nullable public var name: String?
    /// `host:port` the link listens on; `null` when it only calls out.
    @Nullable public var listen: String?
    /// SHA-256 (hex) of this appliance's certificate (DER): what peers pin.
    @Nullable public var certificateSHA256: String?
    /// Why the configured link is not available.
    @Nullable public var problem: String?
    public var peers: [Peer]

    public struct Peer: Codable, Sendable, Equatable {
        public var name: String
        public var address: String
        /// The pinned certificate's SHA-256 (hex).
        public var certificateSHA256: String
        /// `up` or `down`.
        public var state: String
        /// Channels (job sessions, probes) open to this peer now.
        public var openChannels: Int
        /// The last time a channel to or from this peer was opened (ISO 8601).
        @Nullable public var lastContact: String?
        @Nullable public var lastError: String?
        /// The probe's time from connect to answer, in milliseconds.
        @Nullable public var roundTripMilliseconds: Double?
        public init(
            name: String, address: String, certificateSHA256: String, state: String, openChannels: Int,
            lastContact: String?, lastError: String?, roundTripMilliseconds: Double?
        ) {
            self.name = name; self.address = address; self.certificateSHA256 = certificateSHA256; self.state = state
            self.openChannels = openChannels; self.lastContact = lastContact; self.lastError = lastError
            self.roundTripMilliseconds = roundTripMilliseconds
        }
    }

    public init(name: String?, listen: String?, certificateSHA256: String?, problem: String?, peers: [Peer]) {
        self.name = name; self.listen = listen; self.certificateSHA256 = certificateSHA256; self.problem = problem;
        self.peers = peers
    }
}
