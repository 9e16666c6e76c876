import ArcaCrypto
import ArcaExecutors
import ArcaIV
import ArcaParty
import ArcaRuntime
import ArcaStore
import ArcaSystem
import ArcaTopology
import Foundation
import Logging
import TOMLKit

/// arcad's configuration: embedded defaults, overridden key by key by a TOML file.
///
/// The defaults are ``embeddedDefaults``, the same text as `Image/etc/arca/arcad.toml` (a test holds
/// the two equal). Unknown keys and values of the wrong type or range stop the start with
/// ``ConfigError``, which names the file, the key and the reason.
public struct ArcadConfig: Sendable, Equatable {
    /// `[server] socket`: the management socket, when neither `--socket` nor `ARCA_SOCKET` is given.
    public var socketPath: String?
    /// `[server] max_body_bytes`: largest request body accepted, in bytes; larger gets 413.
    public var maxBodyBytes: Int
    /// `[server] idle_timeout_seconds`: a connection that sends nothing for this long is closed, so
    /// clients that open connections and go silent cannot hold the daemon's resources.
    public var idleTimeout: Duration
    /// `[server] shutdown_grace_seconds`: how long in-flight requests may run after SIGTERM.
    public var shutdownGrace: Duration
    /// `[log] level`: one of swift-log's levels.
    public var logLevel: Logger.Level
    /// `[state] directory`: job store, keys, audit log, kernel cache.
    public var stateDirectory: String
    /// `[devices] opencl`: look for OpenCL devices; `false` leaves only the CPU fallback.
    public var openCLEnabled: Bool
    /// `[devices] kernel_dir`: OpenCL C sources (`""`: the built-in `Kernels/`, or `$ARCA_KERNELS_DIR`).
    public var kernelDirectory: String?
    /// `[devices] kernel_cache`: keep built program binaries under `<state>/kernel-cache`.
    public var kernelCache: Bool
    /// `[devices] prebuilt_dir`: load programs only from `<dir>/ntt.bin` and `modexp.bin` (FPGA boards).
    public var prebuiltDirectory: String?
    /// `[placement]`: policy, reserved cores, excluded nodes, party interface, `[placement.pin]`.
    public var placement: PlacementConfig
    /// `[executors] queue_capacity`: work items each node's queue holds.
    public var queueCapacity: Int
    /// `[executors] when_full`: what a full queue does to a new submission.
    public var whenFull: QueueFullPolicy
    /// `[jobs] max_running`: jobs that run at once; later ones wait `queued`.
    public var maxRunningJobs: Int = 2
    /// `[audit] digest`: `sha256` or `sm3`, for the audit chain, dataset fingerprints and results.
    public var auditDigest: Digest = .sha256
    /// `[audit] signature`: `ed25519` or `sm2`, the appliance key's scheme (fixed when the key is made).
    public var auditSignature: SignatureAlgorithm = .ed25519
    /// `[audit] checkpoint_every`: entries between signed checkpoints.
    public var auditCheckpointEvery: Int = 64
    /// `[roles] view_group`: the socket's group; its members may read.
    public var viewGroup: String = "arca-view"
    /// `[roles] admin_group`: members may change things (root always may).
    public var adminGroup: String = "arca-admin"
    /// `[party] name`: this appliance's name as its peers know it ("" : no party link).
    public var partyName: String = ""
    /// `[party] listen`: `host:port` for peers to connect to; nil: only call out.
    public var partyListen: String?
    /// `[party] certificate` and `key`: this appliance's PEM certificate and private key.
    public var partyCertificate: String = ""
    public var partyKey: String = ""
    /// `[party] max_frame_bytes`: largest frame on the link.
    public var partyMaxFrameBytes: Int = 16 << 20
    /// `[party] heartbeat_seconds`: heartbeat interval on a quiet channel; four missed end it.
    public var partyHeartbeat: Duration = .seconds(2)
    /// `[party] max_jobs_per_peer`: jobs one partner may have queued or running here at once.
    public var partyMaxJobsPerPeer: Int = 4
    /// `[party] max_pending_handshakes`: inbound connections in their TLS handshake at once.
    public var partyMaxPendingHandshakes: Int = 32
    /// `[party] handshake_timeout_seconds`: an inbound TLS handshake not done by then is closed.
    public var partyHandshakeTimeout: Duration = .seconds(10)
    /// `[party] refusal_audit_seconds`: refused connections from one address are audited at most
    /// once per this interval, with a count.
    public var partyRefusalAuditInterval: Duration = .seconds(60)
    /// `[party] max_inbox_bytes`: frames received and not yet read, per channel; more aborts it.
    public var partyMaxInboxBytes: Int = 64 << 20
    /// `[[party.peers]]`: each partner's name, `host:port`, pinned certificate file and optional
    /// `max_peer_items`.
    public var partyPeers: [PartyPeer] = []
    /// `[party] max_peer_items`: the most ids a peer may declare in a PSI run.
    public var partyMaxPeerItems: Int = 100_000_000
    /// The party link's settings, when `[party]` names this appliance, its certificate and key.
    public var partySettings: PartySettings? {
        guard !partyName.isEmpty, !partyCertificate.isEmpty, !partyKey.isEmpty else { return nil }
        var settings = PartySettings(
            name: partyName, listen: partyListen, certificateFile: partyCertificate, keyFile: partyKey,
            maxFrameBytes: partyMaxFrameBytes, heartbeatSeconds: partyHeartbeat.seconds,
            peers: partyPeers, maxPeerItems: partyMaxPeerItems)
        settings.maxPendingHandshakes = partyMaxPendingHandshakes
        settings.handshakeTimeout = partyHandshakeTimeout
        settings.refusalAuditInterval = partyRefusalAuditInterval
        settings.maxInboxBytes = partyMaxInboxBytes
        return settings
    }

    /// `[datasets] roots`: directories dataset files may be registered from (paths resolved, links
    /// followed); a file anywhere else is refused.
    public var datasetRoots: [String] = ["/var/lib/arca/datasets", "/srv/arca/datasets"]

    /// `[he] max_body_bytes`: largest request body of the `/v1/he/` routes (ciphertext arrays), in bytes.
    public var heMaxBodyBytes: Int
    /// `[he] seal_cipher`: AEAD sealing private keys at rest, `aes-256-gcm` or `sm4-gcm`.
    public var heSealCipher: AEAD
    /// `[iv]`: what this appliance, as a WOE/IV host, accepts from a guest: Paillier key sizes, the
    /// minimum bin size (k), the most bins per feature, the smallest intersection.
    public var ivLimits: IVLimits = .defaults
    /// Where this configuration came from: a file path or `"embedded defaults"`.
    public var source: String

    /// The default configuration file, byte for byte.
    public static let embeddedDefaults = """
        # arcad configuration. Every key below is the embedded default: arcad runs the same without this
        # file. Edit a copy and start arcad with --config FILE; an unknown key or a bad value stops the start.

        [server]
        # Management socket. Unset here, it is --socket, else $ARCA_SOCKET, else /run/arca/arcad.sock
        # for root and $XDG_RUNTIME_DIR/arca/arcad.sock for other users.
        # socket = "/run/arca/arcad.sock"
        # Largest request body accepted, in bytes; a larger one gets 413.
        max_body_bytes = 1048576
        # Seconds a connection may stay silent (mid-request included) before it is closed.
        idle_timeout_seconds = 30
        # Seconds that in-flight requests may run after SIGTERM or SIGINT.
        shutdown_grace_seconds = 10

        [log]
        # trace, debug, info, notice, warning, error or critical.
        level = "info"

        [state]
        directory = "/var/lib/arca"

        [devices]
        # Look for OpenCL devices. false leaves only the CPU fallback device.
        opencl = true
        # OpenCL C sources; "" for the ones Arca ships.
        kernel_dir = ""
        # Keep built program binaries under <state directory>/kernel-cache, keyed by device, driver and source.
        kernel_cache = true
        # Load programs only from <dir>/ntt.bin and <dir>/modexp.bin, as FPGA boards require; "" to build.
        prebuilt_dir = ""

        [placement]
        # none, best-effort, restricted or single-numa-node (the policies of Kubernetes' Topology Manager).
        policy = "best-effort"
        # Cores kept for arcad's management threads; -1: one when at least 4 cores are usable, else none.
        reserved_cores = -1
        # NUMA nodes (OS indexes) that get no work.
        exclude_nodes = []
        # Network interface of the party link: MPC work goes to its NIC's node. "": plan every NIC.
        party_interface = ""

        [placement.pin]
        # Pin a workload class (he, mpc, cpu) to chosen NUMA nodes, e.g. he = [2].

        [executors]
        # Work items each NUMA node's queue holds.
        queue_capacity = 1024
        # When a queue is full: "wait" (the submitter waits for room) or "reject" (a clear error).
        when_full = "wait"

        [jobs]
        # Jobs that run at once; later submissions wait as "queued".
        max_running = 2

        [audit]
        # Hash of the audit chain, dataset fingerprints and job results: "sha256" or "sm3".
        digest = "sha256"
        # The appliance key's scheme: "ed25519" or "sm2" (SM2 with SM3). Fixed when the key is first made,
        # in <state directory>/audit/appliance.key.
        signature = "ed25519"
        # Entries between checkpoints signed with the appliance key.
        checkpoint_every = 64

        [roles]
        # The socket's group (mode 0660): its members may read. Admins belong to it too.
        view_group = "arca-view"
        # Members of this group (and root) may change things; others get 403 on every change.
        admin_group = "arca-admin"

        [party]
        # The link to partner appliances: TLS 1.3, both sides present certificates, each pinned by the
        # SHA-256 of its DER. With name, certificate or key unset there is no link (psi jobs fail).
        # This appliance's name as its peers know it.
        name = ""
        # "host:port" to listen on for peers; "" to only call out.
        listen = ""
        # This appliance's certificate and private key (PEM files).
        certificate = ""
        key = ""
        # Largest frame on the link, in bytes.
        max_frame_bytes = 16777216
        # Seconds between heartbeats on a quiet channel; a channel silent for four is dead.
        heartbeat_seconds = 2
        # The most ids a peer may declare in a PSI run (psi and the alignment of iv); more is refused.
        max_peer_items = 100000000
        # Jobs one peer may have queued or running here at once; more openings are refused (peer-jobs).
        max_jobs_per_peer = 4
        # Inbound connections in their TLS handshake at once; beyond, the oldest of the busiest address
        # is closed at once.
        max_pending_handshakes = 32
        # Seconds an inbound TLS handshake may take before the connection is closed.
        handshake_timeout_seconds = 10
        # Refused connections from one address are audited at most once per this many seconds, with a
        # count (the first at once).
        refusal_audit_seconds = 60
        # Bytes of frames received and not yet read, per channel; a peer that sends more has the channel
        # aborted (limits.exceeded).
        max_inbox_bytes = 67108864
        # Each peer, pinned by its certificate file (max_peer_items: optional, this peer's own cap):
        # [[party.peers]]
        # name = "bank-b"
        # address = "10.0.0.2:7443"
        # certificate = "/etc/arca/peers/bank-b.pem"

        [datasets]
        # Directories datasets may be registered from. A dataset's path is resolved (links followed) and
        # must lie under one of them; a file anywhere else, or a link that leads out of them, is refused.
        roots = ["/var/lib/arca/datasets", "/srv/arca/datasets"]

        [he]
        # Largest request body of the /v1/he/ routes (arrays of ciphertexts), in bytes.
        max_body_bytes = 268435456
        # Private Paillier keys are sealed at rest under <state directory>/he/seal.key with this cipher:
        # "aes-256-gcm" or "sm4-gcm".
        seal_cipher = "aes-256-gcm"

        [iv]
        # What this appliance accepts as the host of a WOE/IV job (the side with features).
        # Paillier key sizes (bits of n) accepted from a guest; 1024 only for tests.
        key_bits = [2048, 3072]
        # k-anonymity: a bin with fewer rows is merged with a neighbour before anything is sent (0: never).
        min_bin_size = 20
        # The most bins a guest may ask for per feature.
        max_bins = 50
        # The fewest rows in the intersection; a smaller one fails the job before any label is sent.
        min_intersection = 100

        """

    /// The embedded defaults.
    public static var defaults: ArcadConfig {
        // The embedded text is fixed and tested; failing to parse it is a build defect.
        try! parse(embeddedDefaults, source: "embedded defaults", base: .bare)
    }

    static let bare = ArcadConfig(
        socketPath: nil, maxBodyBytes: 0, idleTimeout: .zero, shutdownGrace: .zero, logLevel: .info,
        stateDirectory: "", openCLEnabled: false, kernelDirectory: nil, kernelCache: false,
        prebuiltDirectory: nil, placement: PlacementConfig(),
        queueCapacity: 1, whenFull: .wait, heMaxBodyBytes: 0, heSealCipher: .aes256gcm, source: "")

    /// Reads `path` over the embedded defaults.
    /// - Throws: ``ConfigError`` with the path, the key (or line and column) and the reason.
    public static func load(file path: String) throws -> ArcadConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(file: path, key: nil, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw ConfigError(file: path, key: nil, reason: "is a directory, not a TOML file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigError(file: path, key: nil, reason: "cannot open the file: \(Errno.current)")
        }
        defer { try? handle.close() }
        // a config is small; /dev/zero must not fill memory
        let data = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        guard data.count < 1 << 20 else {
            throw ConfigError(file: path, key: nil, reason: "is over 1 MiB; not a config file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, key: nil, reason: "is not UTF-8 text")
        }
        return try parse(text, source: path, base: defaults)
    }

    /// Parses TOML `text` over `base`.
    public static func parse(_ text: String, source: String, base: ArcadConfig) throws -> ArcadConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(
                file: source, key: nil,
                reason: "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
        var config = base
        config.source = source
        let reader = Reader(file: source)
        for section in table.keys {
            guard Self.sections.contains(section) else {
                let list = Self.sections.map { "[\($0)]" }.joined(separator: ", ")
                throw ConfigError(file: source, key: section, reason: "unknown key; sections are \(list)")
            }
            guard let sub = table[section]?.table else {
                throw ConfigError(file: source, key: section, reason: "expected a table such as [\(section)]")
            }
            for key in sub.keys {
                let name = "\(section).\(key)"
                guard let known = Self.keys.first(where: { $0.name == name }) else {
                    throw ConfigError(file: source, key: name, reason: "unknown key")
                }
                try known.set(&config, sub[key]!, reader)
            }
        }
        return config
    }

    struct Reader {
        let file: String
        func string(_ value: any TOMLValueConvertible, _ key: String) throws -> String {
            guard let string = value.string else { throw mismatch(value, key, "a string") }
            return string
        }
        func bool(_ value: any TOMLValueConvertible, _ key: String) throws -> Bool {
            guard let bool = value.bool else { throw mismatch(value, key, "true or false") }
            return bool
        }
        func int(_ value: any TOMLValueConvertible, _ key: String, in range: ClosedRange<Int>) throws -> Int {
            guard let int = value.int else { throw mismatch(value, key, "an integer") }
            guard range.contains(int) else {
                throw ConfigError(
                    file: file, key: key,
                    reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(int)")
            }
            return int
        }
        func ints(_ value: any TOMLValueConvertible, _ key: String) throws -> [Int] {
            guard let array = value.array else { throw mismatch(value, key, "an array of integers") }
            return try array.map { element in
                guard let int = element.int, int >= 0 else {
                    throw mismatch(element, key, "an array of non-negative integers")
                }
                return int
            }
        }
        func mismatch(_ value: any TOMLValueConvertible, _ key: String, _ expected: String) -> ConfigError {
            let type = "\(value.type)"
            let article = "aeiou".contains(type.first ?? "x") ? "an" : "a"
            return ConfigError(
                file: file, key: key,
                reason: "expected \(expected), got \(article) \(type) (\(value.tomlValue.debugDescription))")
        }
    }
}

/// A configuration that cannot be used: which file, which key, and why.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String?
    public var reason: String
    public var description: String {
        "config \(file)" + (key.map { ": key \($0)" } ?? "") + ": \(reason)"
    }
}
