import ArcaCrypto
import ArcaIV
import ArcaParty
import ArcaExecutors
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
    public var idleTimeoutSeconds: Int
    /// `[server] shutdown_grace_seconds`: how long in-flight requests may run after SIGTERM.
    public var shutdownGraceSeconds: Int
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
    public var partyHeartbeatSeconds: Int = 2
    /// `[party] max_jobs_per_peer`: jobs one partner may have queued or running here at once.
    public var partyMaxJobsPerPeer: Int = 4
    /// `[party] max_pending_handshakes`: inbound connections in their TLS handshake at once.
    public var partyMaxPendingHandshakes: Int = 32
    /// `[party] handshake_timeout_seconds`: an inbound TLS handshake not done by then is closed.
    public var partyHandshakeTimeoutSeconds: Int = 10
    /// `[party] refusal_audit_seconds`: refused connections from one address are audited at most
    /// once per this many seconds, with a count.
    public var partyRefusalAuditSeconds: Int = 60
    /// `[party] max_inbox_bytes`: frames received and not yet read, per channel; more aborts it.
    public var partyMaxInboxBytes: Int = 64 << 20
    /// `[[party.peers]]`: each partner's name, `host:port` and pinned certificate file.
    public var partyPeers: [PartyPeer] = []
    /// The party link's settings, when `[party]` names this appliance, its certificate and key.
    public var partySettings: PartySettings? {
        guard !partyName.isEmpty, !partyCertificate.isEmpty, !partyKey.isEmpty else { return nil }
        var settings = PartySettings(name: partyName, listen: partyListen, certificateFile: partyCertificate,
                                     keyFile: partyKey, maxFrameBytes: partyMaxFrameBytes,
                                     heartbeatSeconds: Double(partyHeartbeatSeconds), peers: partyPeers)
        settings.maxPendingHandshakes = partyMaxPendingHandshakes
        settings.handshakeTimeout = .seconds(partyHandshakeTimeoutSeconds)
        settings.refusalAuditInterval = .seconds(partyRefusalAuditSeconds)
        settings.maxInboxBytes = partyMaxInboxBytes
        return settings
    }


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
    # Each peer, pinned by its certificate file:
    # [[party.peers]]
    # name = "bank-b"
    # address = "10.0.0.2:7443"
    # certificate = "/etc/arca/peers/bank-b.pem"

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

    static let bare = ArcadConfig(socketPath: nil, maxBodyBytes: 0, idleTimeoutSeconds: 0, shutdownGraceSeconds: 0, logLevel: .info,
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
        guard !isDirectory.boolValue else { throw ConfigError(file: path, key: nil, reason: "is a directory, not a TOML file") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigError(file: path, key: nil, reason: "cannot open the file: \(Errno.current)")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 1 << 20)) ?? Data()  // a config is small; /dev/zero must not fill memory
        guard data.count < 1 << 20 else { throw ConfigError(file: path, key: nil, reason: "is over 1 MiB; not a config file") }
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
            throw ConfigError(file: source, key: nil,
                              reason: "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
        var config = base
        config.source = source
        let reader = Reader(file: source)
        for section in table.keys {
            let sections = ["server", "log", "state", "devices", "placement", "executors", "jobs", "audit", "roles",
                            "party", "he", "iv"]
            guard sections.contains(section) else {
                throw ConfigError(file: source, key: section,
                                  reason: "unknown key; sections are " + sections.map { "[\($0)]" }.joined(separator: ", "))
            }
            guard let sub = table[section]?.table else {
                throw ConfigError(file: source, key: section, reason: "expected a table such as [\(section)]")
            }
            for key in sub.keys {
                let name = "\(section).\(key)"
                let value = sub[key]!
                switch name {
                case "placement.policy":
                    let text = try reader.string(value, name)
                    guard let policy = PlacementPolicy(rawValue: text) else {
                        throw ConfigError(file: source, key: name, reason: "must be one of none, best-effort, restricted, single-numa-node; got \"\(text)\"")
                    }
                    config.placement.policy = policy
                case "placement.reserved_cores":
                    let count = try reader.int(value, name, in: -1...4096)
                    config.placement.reservedCores = count < 0 ? nil : count
                case "placement.exclude_nodes":
                    config.placement.excludedNodes = try reader.ints(value, name)
                case "placement.party_interface":
                    let interface = try reader.string(value, name)
                    config.placement.partyInterface = interface.isEmpty ? nil : interface
                case "placement.pin":
                    guard let pins = value.table else { throw reader.mismatch(value, name, "a table such as [placement.pin]") }
                    config.placement.pinned = [:]
                    for workload in pins.keys {
                        guard let workloadClass = WorkloadClass(rawValue: workload), workloadClass != .management else {
                            throw ConfigError(file: source, key: "\(name).\(workload)", reason: "unknown workload class; use he, mpc or cpu")
                        }
                        let nodes = try reader.ints(pins[workload]!, "\(name).\(workload)")
                        guard !nodes.isEmpty else { throw ConfigError(file: source, key: "\(name).\(workload)", reason: "needs at least one node") }
                        config.placement.pinned[workloadClass] = nodes
                    }
                case "executors.queue_capacity":
                    config.queueCapacity = try reader.int(value, name, in: 1...1_000_000)
                case "executors.when_full":
                    let text = try reader.string(value, name)
                    guard let policy = QueueFullPolicy(rawValue: text) else {
                        throw ConfigError(file: source, key: name, reason: "must be \"wait\" or \"reject\"; got \"\(text)\"")
                    }
                    config.whenFull = policy
                case "jobs.max_running":
                    config.maxRunningJobs = try reader.int(value, name, in: 1...1024)
                case "audit.digest":
                    let text = try reader.string(value, name)
                    guard let digest = Digest(name: text) else {
                        throw ConfigError(file: source, key: name, reason: "must be \"sha256\" or \"sm3\"; got \"\(text)\"")
                    }
                    config.auditDigest = digest
                case "audit.signature":
                    let text = try reader.string(value, name)
                    guard let algorithm = SignatureAlgorithm(rawValue: text) else {
                        throw ConfigError(file: source, key: name, reason: "must be \"ed25519\" or \"sm2\"; got \"\(text)\"")
                    }
                    config.auditSignature = algorithm
                case "audit.checkpoint_every":
                    config.auditCheckpointEvery = try reader.int(value, name, in: 1...1_000_000)
                case "roles.view_group", "roles.admin_group":
                    let group = try reader.string(value, name)
                    guard (try? /[a-z_][a-z0-9_-]{0,31}/.wholeMatch(in: group)) != nil else {
                        throw ConfigError(file: source, key: name, reason: "must be a group name, got \"\(group)\"")
                    }
                    if name == "roles.view_group" { config.viewGroup = group } else { config.adminGroup = group }
                case "party.name":
                    let text = try reader.string(value, name)
                    guard text.isEmpty || JobSpec.isName(text) else { throw ConfigError(file: source, key: name, reason: "must be a name (letters, digits, . _ -), got \"\(text)\"") }
                    config.partyName = text
                case "party.listen":
                    let text = try reader.string(value, name)
                    guard text.isEmpty || (try? /[0-9.]+:[0-9]{1,5}/.wholeMatch(in: text)) != nil else {
                        throw ConfigError(file: source, key: name, reason: "must be \"IPv4:port\" or \"\", got \"\(text)\"")
                    }
                    config.partyListen = text.isEmpty ? nil : text
                case "party.certificate", "party.key":
                    let path = try reader.string(value, name)
                    guard path.isEmpty || path.hasPrefix("/") else { throw ConfigError(file: source, key: name, reason: "must be an absolute path or \"\", got \"\(path)\"") }
                    if name == "party.key" { config.partyKey = path } else { config.partyCertificate = path }
                case "party.max_frame_bytes":
                    config.partyMaxFrameBytes = try reader.int(value, name, in: 65536...(1 << 30))
                case "party.heartbeat_seconds":
                    config.partyHeartbeatSeconds = try reader.int(value, name, in: 1...3600)
                case "party.max_jobs_per_peer":
                    config.partyMaxJobsPerPeer = try reader.int(value, name, in: 1...1024)
                case "party.max_pending_handshakes":
                    config.partyMaxPendingHandshakes = try reader.int(value, name, in: 1...4096)
                case "party.handshake_timeout_seconds":
                    config.partyHandshakeTimeoutSeconds = try reader.int(value, name, in: 1...600)
                case "party.refusal_audit_seconds":
                    config.partyRefusalAuditSeconds = try reader.int(value, name, in: 1...86400)
                case "party.max_inbox_bytes":
                    config.partyMaxInboxBytes = try reader.int(value, name, in: 65536...(1 << 34))
                case "party.peers":
                    guard let array = value.array else { throw reader.mismatch(value, name, "an array of tables [[party.peers]]") }
                    config.partyPeers = []
                    for (index, element) in array.enumerated() {
                        let key = "\(name)[\(index)]"
                        guard let peer = element.table else { throw reader.mismatch(element, key, "a table with name, address and certificate") }
                        for field in peer.keys where !["name", "address", "certificate"].contains(field) {
                            throw ConfigError(file: source, key: "\(key).\(field)", reason: "unknown key; a peer has name, address and certificate")
                        }
                        func field(_ field: String) throws -> String {
                            guard let value = peer[field] else { throw ConfigError(file: source, key: "\(key).\(field)", reason: "missing") }
                            return try reader.string(value, "\(key).\(field)")
                        }
                        let peerName = try field("name"), address = try field("address"), certificate = try field("certificate")
                        guard JobSpec.isName(peerName), peerName != "local" else { throw ConfigError(file: source, key: "\(key).name", reason: "must be a name other than local, got \"\(peerName)\"") }
                        guard address.contains(":") else { throw ConfigError(file: source, key: "\(key).address", reason: "must be host:port, got \"\(address)\"") }
                        guard certificate.hasPrefix("/") else { throw ConfigError(file: source, key: "\(key).certificate", reason: "must be an absolute path, got \"\(certificate)\"") }
                        guard !config.partyPeers.contains(where: { $0.name == peerName }) else { throw ConfigError(file: source, key: "\(key).name", reason: "peer \(peerName) is named twice") }
                        config.partyPeers.append(PartyPeer(name: peerName, address: address, certificateFile: certificate))
                    }
                case "iv.key_bits":
                    let sizes = try reader.ints(value, name)
                    guard !sizes.isEmpty, sizes.allSatisfy({ [1024, 2048, 3072, 4096].contains($0) }) else {
                        throw ConfigError(file: source, key: name,
                                          reason: "must list sizes from 1024, 2048, 3072, 4096; got \(sizes)")
                    }
                    config.ivLimits.keyBits = sizes
                case "iv.min_bin_size":
                    config.ivLimits.minBinSize = try reader.int(value, name, in: 0...1_000_000)
                case "iv.max_bins":
                    config.ivLimits.maxBins = try reader.int(value, name, in: 2...1000)
                case "iv.min_intersection":
                    config.ivLimits.minIntersection = try reader.int(value, name, in: 1...1_000_000_000)
                case "server.socket":
                    let path = try reader.string(value, name)
                    guard path.hasPrefix("/") else { throw ConfigError(file: source, key: name, reason: "must be an absolute path, got \"\(path)\"") }
                    config.socketPath = path
                case "server.max_body_bytes":
                    config.maxBodyBytes = try reader.int(value, name, in: 1024...(1 << 30))
                case "he.max_body_bytes":
                    config.heMaxBodyBytes = try reader.int(value, name, in: 1024...(1 << 32))
                case "he.seal_cipher":
                    let text = try reader.string(value, name)
                    guard let cipher = AEAD(rawValue: text) else {
                        throw ConfigError(file: source, key: name, reason: "must be \"aes-256-gcm\" or \"sm4-gcm\"; got \"\(text)\"")
                    }
                    config.heSealCipher = cipher
                case "server.idle_timeout_seconds":
                    config.idleTimeoutSeconds = try reader.int(value, name, in: 1...86400)
                case "server.shutdown_grace_seconds":
                    config.shutdownGraceSeconds = try reader.int(value, name, in: 0...3600)
                case "log.level":
                    let level = try reader.string(value, name)
                    guard let parsed = Logger.Level(rawValue: level) else {
                        let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                        throw ConfigError(file: source, key: name, reason: "must be one of \(levels); got \"\(level)\"")
                    }
                    config.logLevel = parsed
                case "state.directory":
                    let path = try reader.string(value, name)
                    guard path.hasPrefix("/") else { throw ConfigError(file: source, key: name, reason: "must be an absolute path, got \"\(path)\"") }
                    config.stateDirectory = path
                case "devices.opencl":
                    config.openCLEnabled = try reader.bool(value, name)
                case "devices.kernel_cache":
                    config.kernelCache = try reader.bool(value, name)
                case "devices.kernel_dir", "devices.prebuilt_dir":
                    let path = try reader.string(value, name)
                    guard path.isEmpty || path.hasPrefix("/") else { throw ConfigError(file: source, key: name, reason: "must be an absolute path or \"\", got \"\(path)\"") }
                    if name == "devices.kernel_dir" { config.kernelDirectory = path.isEmpty ? nil : path } else { config.prebuiltDirectory = path.isEmpty ? nil : path }
                default:
                    throw ConfigError(file: source, key: name, reason: "unknown key")
                }
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
                throw ConfigError(file: file, key: key, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(int)")
            }
            return int
        }
        func ints(_ value: any TOMLValueConvertible, _ key: String) throws -> [Int] {
            guard let array = value.array else { throw mismatch(value, key, "an array of integers") }
            return try array.map { element in
                guard let int = element.int, int >= 0 else { throw mismatch(element, key, "an array of non-negative integers") }
                return int
            }
        }
        func mismatch(_ value: any TOMLValueConvertible, _ key: String, _ expected: String) -> ConfigError {
            let type = "\(value.type)"
            let article = "aeiou".contains(type.first ?? "x") ? "an" : "a"
            return ConfigError(file: file, key: key, reason: "expected \(expected), got \(article) \(type) (\(value.tomlValue.debugDescription))")
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
