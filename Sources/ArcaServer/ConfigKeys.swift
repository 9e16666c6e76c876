import ArcaCrypto
import ArcaExecutors
import ArcaIV
import ArcaParty
import ArcaRuntime
import ArcaSystem
import ArcaTopology
import Logging
import TOMLKit

/// One key of arcad's configuration: its name (`section.key`), how a TOML value sets it (checked:
/// a wrong type or value throws ``ConfigError`` naming the key), and how `--check-config` shows the
/// effective value. ``ArcadConfig/keys`` is the one list the parser, the embedded defaults' test and
/// `--check-config` all read.
struct ConfigKey: Sendable {
    typealias Setter = @Sendable (inout ArcadConfig, any TOMLValueConvertible, ArcadConfig.Reader) throws -> Void
    let name: String
    let set: Setter
    let show: @Sendable (ArcadConfig) -> String

    init(_ name: String, set: @escaping Setter, show: @escaping @Sendable (ArcadConfig) -> String) {
        self.name = name; self.set = set; self.show = show
    }

    var section: String { String(name.prefix { $0 != "." }) }
}

extension ArcadConfig.Reader {
    /// An absolute path, or `""` when `emptyAllowed`.
    func path(_ value: any TOMLValueConvertible, _ key: String, emptyAllowed: Bool = false) throws -> String {
        let path = try string(value, key)
        guard (emptyAllowed && path.isEmpty) || path.hasPrefix("/") else {
            throw ConfigError(
                file: file, key: key,
                reason: "must be an absolute path\(emptyAllowed ? " or \"\"" : ""), got \"\(path)\"")
        }
        return path
    }

    /// One of a closed set of raw values (an enum's).
    func choice<T: RawRepresentable>(
        _ value: any TOMLValueConvertible, _ key: String, _ choices: [T],
        named: (T) -> String = { "\($0.rawValue)" }
    ) throws -> T where T.RawValue == String {
        let text = try string(value, key)
        guard let chosen = choices.first(where: { named($0) == text }) else {
            let names = choices.map(named)
            let list =
                names.count == 2
                ? "\"\(names[0])\" or \"\(names[1])\"" : "one of " + names.joined(separator: ", ")
            throw ConfigError(file: file, key: key, reason: "must be \(list); got \"\(text)\"")
        }
        return chosen
    }

    /// A whole number of seconds in `range`, as a `Duration`.
    func seconds(_ value: any TOMLValueConvertible, _ key: String, in range: ClosedRange<Int>) throws -> Duration {
        .seconds(try int(value, key, in: range))
    }

    func group(_ value: any TOMLValueConvertible, _ key: String) throws -> String {
        let group = try string(value, key)
        guard (try? /[a-z_][a-z0-9_-]{0,31}/.wholeMatch(in: group)) != nil else {
            throw ConfigError(file: file, key: key, reason: "must be a group name, got \"\(group)\"")
        }
        return group
    }
}

extension ArcadConfig {
    /// Every key arcad reads, in the order of the embedded defaults and of `--check-config`.
    static let keys: [ConfigKey] = [
        ConfigKey(
            "server.socket", set: { c, v, r in c.socketPath = try r.path(v, "server.socket") },
            show: { $0.socketPath ?? "(--socket, $ARCA_SOCKET or the default)" }),
        ConfigKey(
            "server.max_body_bytes",
            set: { c, v, r in c.maxBodyBytes = try r.int(v, "server.max_body_bytes", in: 1024...(1 << 30)) },
            show: { "\($0.maxBodyBytes)" }),
        ConfigKey(
            "server.idle_timeout_seconds",
            set: { c, v, r in c.idleTimeout = try r.seconds(v, "server.idle_timeout_seconds", in: 1...86400) },
            show: { "\(Int($0.idleTimeout.seconds))" }),
        ConfigKey(
            "server.shutdown_grace_seconds",
            set: { c, v, r in c.shutdownGrace = try r.seconds(v, "server.shutdown_grace_seconds", in: 0...3600) },
            show: { "\(Int($0.shutdownGrace.seconds))" }),
        ConfigKey(
            "log.level", set: { c, v, r in c.logLevel = try r.choice(v, "log.level", Logger.Level.allCases) },
            show: { $0.logLevel.rawValue }),
        ConfigKey(
            "state.directory", set: { c, v, r in c.stateDirectory = try r.path(v, "state.directory") },
            show: { $0.stateDirectory }),
        ConfigKey(
            "devices.opencl", set: { c, v, r in c.openCLEnabled = try r.bool(v, "devices.opencl") },
            show: { "\($0.openCLEnabled)" }),
        ConfigKey(
            "devices.kernel_dir",
            set: { c, v, r in
                let path = try r.path(v, "devices.kernel_dir", emptyAllowed: true)
                c.kernelDirectory = path.isEmpty ? nil : path
            }, show: { $0.kernelDirectory ?? "(built in)" }),
        ConfigKey(
            "devices.kernel_cache", set: { c, v, r in c.kernelCache = try r.bool(v, "devices.kernel_cache") },
            show: { "\($0.kernelCache)" }),
        ConfigKey(
            "devices.prebuilt_dir",
            set: { c, v, r in
                let path = try r.path(v, "devices.prebuilt_dir", emptyAllowed: true)
                c.prebuiltDirectory = path.isEmpty ? nil : path
            }, show: { $0.prebuiltDirectory ?? "(none: build from source)" }),
        ConfigKey(
            "placement.policy",
            set: { c, v, r in
                c.placement.policy = try r.choice(v, "placement.policy", PlacementPolicy.allCases)
            }, show: { $0.placement.policy.rawValue }),
        ConfigKey(
            "placement.reserved_cores",
            set: { c, v, r in
                let count = try r.int(v, "placement.reserved_cores", in: -1...4096)
                c.placement.reservedCores = count < 0 ? nil : count
            }, show: { $0.placement.reservedCores.map(String.init) ?? "auto" }),
        ConfigKey(
            "placement.exclude_nodes",
            set: { c, v, r in c.placement.excludedNodes = try r.ints(v, "placement.exclude_nodes") },
            show: { "\($0.placement.excludedNodes)" }),
        ConfigKey(
            "placement.party_interface",
            set: { c, v, r in
                let interface = try r.string(v, "placement.party_interface")
                c.placement.partyInterface = interface.isEmpty ? nil : interface
            }, show: { $0.placement.partyInterface ?? "(every NIC)" }),
        ConfigKey(
            "placement.pin",
            set: { c, v, r in
                let name = "placement.pin"
                guard let pins = v.table else { throw r.mismatch(v, name, "a table such as [placement.pin]") }
                c.placement.pinned = [:]
                for workload in pins.keys {
                    guard let workloadClass = WorkloadClass(rawValue: workload), workloadClass != .management else {
                        throw ConfigError(
                            file: r.file, key: "\(name).\(workload)",
                            reason: "unknown workload class; use he, mpc or cpu")
                    }
                    let nodes = try r.ints(pins[workload]!, "\(name).\(workload)")
                    guard !nodes.isEmpty else {
                        throw ConfigError(file: r.file, key: "\(name).\(workload)", reason: "needs at least one node")
                    }
                    c.placement.pinned[workloadClass] = nodes
                }
            }, show: { $0.placement.pinned.map { "\($0.key.rawValue) = \($0.value)" }.sorted().joined(separator: ", ") }
        ),
        ConfigKey(
            "executors.queue_capacity",
            set: { c, v, r in c.queueCapacity = try r.int(v, "executors.queue_capacity", in: 1...1_000_000) },
            show: { "\($0.queueCapacity)" }),
        ConfigKey(
            "executors.when_full",
            set: { c, v, r in
                c.whenFull = try r.choice(v, "executors.when_full", [QueueFullPolicy.wait, .reject])
            }, show: { $0.whenFull.rawValue }),
        ConfigKey(
            "jobs.max_running", set: { c, v, r in c.maxRunningJobs = try r.int(v, "jobs.max_running", in: 1...1024) },
            show: { "\($0.maxRunningJobs)" }),
        ConfigKey(
            "audit.digest",
            set: { c, v, r in
                c.auditDigest = try r.choice(v, "audit.digest", Digest.allCases, named: \.name)
            }, show: { $0.auditDigest.name }),
        ConfigKey(
            "audit.signature",
            set: { c, v, r in
                c.auditSignature = try r.choice(v, "audit.signature", SignatureAlgorithm.allCases)
            }, show: { $0.auditSignature.rawValue }),
        ConfigKey(
            "audit.checkpoint_every",
            set: { c, v, r in c.auditCheckpointEvery = try r.int(v, "audit.checkpoint_every", in: 1...1_000_000) },
            show: { "\($0.auditCheckpointEvery)" }),
        ConfigKey(
            "roles.view_group", set: { c, v, r in c.viewGroup = try r.group(v, "roles.view_group") },
            show: { $0.viewGroup }),
        ConfigKey(
            "roles.admin_group", set: { c, v, r in c.adminGroup = try r.group(v, "roles.admin_group") },
            show: { $0.adminGroup }),
        ConfigKey(
            "party.name",
            set: { c, v, r in
                let text = try r.string(v, "party.name")
                guard text.isEmpty || JobSpec.isName(text) else {
                    throw ConfigError(
                        file: r.file, key: "party.name",
                        reason: "must be a name (letters, digits, . _ -), got \"\(text)\"")
                }
                c.partyName = text
            }, show: { $0.partyName.isEmpty ? "(none: no party link)" : $0.partyName }),
        ConfigKey(
            "party.listen",
            set: { c, v, r in
                let text = try r.string(v, "party.listen")
                guard text.isEmpty || (try? TCPAddress(parsing: text)) != nil else {
                    throw ConfigError(
                        file: r.file, key: "party.listen",
                        reason: "must be \"IPv4:port\", \"[IPv6]:port\" or \"\", got \"\(text)\"")
                }
                c.partyListen = text.isEmpty ? nil : text
            }, show: { $0.partyListen ?? "(none: calls out only)" }),
        ConfigKey(
            "party.certificate",
            set: { c, v, r in c.partyCertificate = try r.path(v, "party.certificate", emptyAllowed: true) },
            show: { $0.partyCertificate }),
        ConfigKey(
            "party.key", set: { c, v, r in c.partyKey = try r.path(v, "party.key", emptyAllowed: true) },
            show: { $0.partyKey }),
        ConfigKey(
            "party.max_frame_bytes",
            set: { c, v, r in c.partyMaxFrameBytes = try r.int(v, "party.max_frame_bytes", in: 65536...(1 << 30)) },
            show: { "\($0.partyMaxFrameBytes)" }),
        ConfigKey(
            "party.heartbeat_seconds",
            set: { c, v, r in c.partyHeartbeat = try r.seconds(v, "party.heartbeat_seconds", in: 1...3600) },
            show: { "\(Int($0.partyHeartbeat.seconds))" }),
        ConfigKey(
            "party.max_peer_items",
            set: { c, v, r in c.partyMaxPeerItems = try r.int(v, "party.max_peer_items", in: 1...(1 << 40)) },
            show: { "\($0.partyMaxPeerItems)" }),
        ConfigKey(
            "party.max_jobs_per_peer",
            set: { c, v, r in c.partyMaxJobsPerPeer = try r.int(v, "party.max_jobs_per_peer", in: 1...1024) },
            show: { "\($0.partyMaxJobsPerPeer)" }),
        ConfigKey(
            "party.max_pending_handshakes",
            set: { c, v, r in c.partyMaxPendingHandshakes = try r.int(v, "party.max_pending_handshakes", in: 1...4096)
            },
            show: { "\($0.partyMaxPendingHandshakes)" }),
        ConfigKey(
            "party.handshake_timeout_seconds",
            set: { c, v, r in c.partyHandshakeTimeout = try r.seconds(v, "party.handshake_timeout_seconds", in: 1...600)
            },
            show: { "\(Int($0.partyHandshakeTimeout.seconds))" }),
        ConfigKey(
            "party.refusal_audit_seconds",
            set: { c, v, r in
                c.partyRefusalAuditInterval = try r.seconds(v, "party.refusal_audit_seconds", in: 1...86400)
            },
            show: { "\(Int($0.partyRefusalAuditInterval.seconds))" }),
        ConfigKey(
            "party.max_inbox_bytes",
            set: { c, v, r in c.partyMaxInboxBytes = try r.int(v, "party.max_inbox_bytes", in: 65536...(1 << 34)) },
            show: { "\($0.partyMaxInboxBytes)" }),
        ConfigKey(
            "party.peers", set: { c, v, r in c.partyPeers = try r.peers(v, "party.peers") },
            show: { config in
                config.partyPeers.map { peer in
                    "\(peer.name) \(peer.address) \(peer.certificateFile)"
                        + (peer.maxPeerItems.map { " max_peer_items=\($0)" } ?? "")
                }.joined(separator: ", ")
            }),
        ConfigKey(
            "datasets.roots",
            set: { c, v, r in
                guard let array = v.array else { throw r.mismatch(v, "datasets.roots", "an array of absolute paths") }
                c.datasetRoots = try array.map { element in
                    guard let path = element.string, path.hasPrefix("/") else {
                        throw r.mismatch(element, "datasets.roots", "an array of absolute paths")
                    }
                    return path
                }
            }, show: { $0.datasetRoots.joined(separator: ", ") }),
        ConfigKey(
            "he.max_body_bytes",
            set: { c, v, r in c.heMaxBodyBytes = try r.int(v, "he.max_body_bytes", in: 1024...(1 << 32)) },
            show: { "\($0.heMaxBodyBytes)" }),
        ConfigKey(
            "he.seal_cipher", set: { c, v, r in c.heSealCipher = try r.choice(v, "he.seal_cipher", AEAD.allCases) },
            show: { $0.heSealCipher.rawValue }),
        ConfigKey(
            "iv.key_bits",
            set: { c, v, r in
                let sizes = try r.ints(v, "iv.key_bits")
                guard !sizes.isEmpty, sizes.allSatisfy({ [1024, 2048, 3072, 4096].contains($0) }) else {
                    throw ConfigError(
                        file: r.file, key: "iv.key_bits",
                        reason: "must list sizes from 1024, 2048, 3072, 4096; got \(sizes)")
                }
                c.ivLimits.keyBits = sizes
            }, show: { "\($0.ivLimits.keyBits)" }),
        ConfigKey(
            "iv.min_bin_size",
            set: { c, v, r in c.ivLimits.minBinSize = try r.int(v, "iv.min_bin_size", in: 0...1_000_000) },
            show: { "\($0.ivLimits.minBinSize)" }),
        ConfigKey(
            "iv.max_bins", set: { c, v, r in c.ivLimits.maxBins = try r.int(v, "iv.max_bins", in: 2...1000) },
            show: { "\($0.ivLimits.maxBins)" }),
        ConfigKey(
            "iv.min_intersection",
            set: { c, v, r in c.ivLimits.minIntersection = try r.int(v, "iv.min_intersection", in: 1...1_000_000_000) },
            show: { "\($0.ivLimits.minIntersection)" }),
    ]

    /// The sections of ``keys``, in order.
    static var sections: [String] {
        var seen: [String] = []
        for key in keys where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }

    /// `section.key = value` for every key, as `--check-config` prints them; `socket` is the path
    /// arcad would serve on (from `--socket`, `$ARCA_SOCKET`, the config or the default).
    public func effectiveValues(socket: String) -> [String] {
        Self.keys.map { key in "\(key.name) = \(key.name == "server.socket" ? socket : key.show(self))" }
    }
}

extension ArcadConfig.Reader {
    /// `[[party.peers]]`: each a table of name, address, certificate and optional `max_peer_items`;
    /// names distinct and not `local`.
    func peers(_ value: any TOMLValueConvertible, _ name: String) throws -> [PartyPeer] {
        guard let array = value.array else { throw mismatch(value, name, "an array of tables [[party.peers]]") }
        var peers: [PartyPeer] = []
        for (index, element) in array.enumerated() {
            let key = "\(name)[\(index)]"
            guard let peer = element.table else {
                throw mismatch(element, key, "a table with name, address and certificate")
            }
            for field in peer.keys where !["name", "address", "certificate", "max_peer_items"].contains(field) {
                throw ConfigError(
                    file: file, key: "\(key).\(field)",
                    reason: "unknown key; a peer has name, address, certificate and max_peer_items")
            }
            let maxPeerItems = try peer["max_peer_items"].map {
                try int($0, "\(key).max_peer_items", in: 1...(1 << 40))
            }
            func field(_ field: String) throws -> String {
                guard let value = peer[field] else {
                    throw ConfigError(file: file, key: "\(key).\(field)", reason: "missing")
                }
                return try string(value, "\(key).\(field)")
            }
            let peerName = try field("name"), address = try field("address"), certificate = try field("certificate")
            guard JobSpec.isName(peerName), peerName != "local" else {
                throw ConfigError(
                    file: file, key: "\(key).name", reason: "must be a name other than local, got \"\(peerName)\"")
            }
            guard (try? TCPAddress(parsing: address)) != nil else {
                throw ConfigError(
                    file: file, key: "\(key).address", reason: "must be host:port ([IPv6]:port), got \"\(address)\"")
            }
            guard certificate.hasPrefix("/") else {
                throw ConfigError(
                    file: file, key: "\(key).certificate", reason: "must be an absolute path, got \"\(certificate)\"")
            }
            guard !peers.contains(where: { $0.name == peerName }) else {
                throw ConfigError(file: file, key: "\(key).name", reason: "peer \(peerName) is named twice")
            }
            peers.append(
                PartyPeer(name: peerName, address: address, certificateFile: certificate, maxPeerItems: maxPeerItems))
        }
        return peers
    }
}
