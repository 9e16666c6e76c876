import ArcaAPI
import ArcaServer
import ArcaTopology
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

@main
struct Arcad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arcad",
        abstract: "The Arca appliance daemon: serves the management API on a local Unix socket.",
        discussion: """
        Runs in the foreground. Without --config it uses the embedded defaults (the same text as \
        /etc/arca/arcad.toml in the image). The socket is --socket, else $ARCA_SOCKET, else the \
        config's [server] socket, else /run/arca/arcad.sock for root and \
        $XDG_RUNTIME_DIR/arca/arcad.sock otherwise; it is created with mode 0660.

        SIGTERM or SIGINT: stop accepting, finish in-flight requests, remove the socket, exit 0.

        Exit codes: 0 clean shutdown; 1 cannot serve (another arcad holds the socket, something else \
        listens on it, the path is not a socket, the directory cannot be made); 2 bad configuration \
        (file, key and reason printed); 64 bad command line. Without XDG_RUNTIME_DIR a non-root \
        arcad uses /tmp/arca-UID/arcad.sock. SIGHUP is ignored (there is nothing to reload yet). \
        PATH.lock stays beside the socket: it is the claim, and must not be removed while arcad runs.
        """,
        version: API.arcaVersion)

    @Option(name: .long, help: ArgumentHelp("TOML configuration file, over the embedded defaults.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Management socket path.", valueName: "path"))
    var socket: String?

    @Flag(name: .long, help: "Check the configuration, print the effective values and exit.")
    var checkConfig = false

    func run() async throws {
        let settings: ArcadConfig
        do {
            settings = try config.map(ArcadConfig.load(file:)) ?? .defaults
        } catch {
            FileHandle.standardError.write(Data("arcad: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let path = ManagementSocket.resolvePath(flag: socket, environment: ProcessInfo.processInfo.environment, config: settings)
        if checkConfig {
            guard path.utf8.count < 108 else {
                FileHandle.standardError.write(Data("arcad: socket path \(path) is \(path.utf8.count) bytes; a Unix socket path must be under 108\n".utf8))
                throw ExitCode(2)
            }
            print("config \(settings.source): ok")
            let placement = settings.placement
            print("""
            server.socket = \(path)
            server.max_body_bytes = \(settings.maxBodyBytes)
            server.idle_timeout_seconds = \(settings.idleTimeoutSeconds)
            server.shutdown_grace_seconds = \(settings.shutdownGraceSeconds)
            log.level = \(settings.logLevel.rawValue)
            state.directory = \(settings.stateDirectory)
            devices.opencl = \(settings.openCLEnabled)
            devices.kernel_dir = \(settings.kernelDirectory ?? "(built in)")
            devices.kernel_cache = \(settings.kernelCache)
            devices.prebuilt_dir = \(settings.prebuiltDirectory ?? "(none: build from source)")
            placement.policy = \(placement.policy.rawValue)
            placement.reserved_cores = \(placement.reservedCores.map(String.init) ?? "auto")
            placement.exclude_nodes = \(placement.excludedNodes)
            placement.party_interface = \(placement.partyInterface ?? "(every NIC)")
            placement.pin = \(placement.pinned.map { "\($0.key.rawValue) = \($0.value)" }.sorted().joined(separator: ", "))
            executors.queue_capacity = \(settings.queueCapacity)
            executors.when_full = \(settings.whenFull.rawValue)
            jobs.max_running = \(settings.maxRunningJobs)
            audit.digest = \(settings.auditDigest.name)
            audit.signature = \(settings.auditSignature.rawValue)
            audit.checkpoint_every = \(settings.auditCheckpointEvery)
            roles.view_group = \(settings.viewGroup)
            roles.admin_group = \(settings.adminGroup)
            party.name = \(settings.partyName.isEmpty ? "(none: no party link)" : settings.partyName)
            party.listen = \(settings.partyListen ?? "(none: calls out only)")
            party.certificate = \(settings.partyCertificate)
            party.key = \(settings.partyKey)
            party.max_frame_bytes = \(settings.partyMaxFrameBytes)
            party.heartbeat_seconds = \(settings.partyHeartbeatSeconds)
            party.max_jobs_per_peer = \(settings.partyMaxJobsPerPeer)
            party.max_pending_handshakes = \(settings.partyMaxPendingHandshakes)
            party.handshake_timeout_seconds = \(settings.partyHandshakeTimeoutSeconds)
            party.refusal_audit_seconds = \(settings.partyRefusalAuditSeconds)
            party.max_inbox_bytes = \(settings.partyMaxInboxBytes)
            party.peers = \(settings.partyPeers.map { "\($0.name) \($0.address) \($0.certificateFile)" }.joined(separator: ", "))
            he.max_body_bytes = \(settings.heMaxBodyBytes)
            he.seal_cipher = \(settings.heSealCipher.rawValue)
            iv.key_bits = \(settings.ivLimits.keyBits)
            iv.min_bin_size = \(settings.ivLimits.minBinSize)
            iv.max_bins = \(settings.ivLimits.maxBins)
            iv.min_intersection = \(settings.ivLimits.minIntersection)
            """)
            // What the placement would do on this machine: warn about settings that leave it without work.
            let (topology, _, warning) = Topology.discover()
            let plan = topology.plan(placement)
            let known = Set(topology.numaNodes.map(\.osIndex))
            var warnings = warning.map { [$0] } ?? []
            warnings += RolePolicy(viewGroup: settings.viewGroup, adminGroup: settings.adminGroup).problems
            if plan.executors.isEmpty { warnings.append("no usable NUMA node on this machine: every unit of work would be refused") }
            for node in Set(placement.excludedNodes + placement.pinned.values.flatMap { $0 }) where !known.contains(node) {
                warnings.append("node \(node) does not exist on this machine")
            }
            if let interface = placement.partyInterface, !topology.pciDevices.contains(where: { $0.osDevices.contains(interface) }) {
                warnings.append("party_interface \(interface) is not a PCI NIC hwloc knows here; MPC work would run on any usable PU")
            }
            if let reserved = placement.reservedCores, reserved > 0, plan.reservedPUs.count < reserved {
                warnings.append("reserved_cores = \(reserved) leaves too few cores; \(topology.cores.count > 1 ? "at most \(topology.cores.count - 1) can be reserved" : "none can be reserved")")
            }
            for entry in plan.entries where entry.refused { warnings.append("placement refuses \(entry.workloadClass.rawValue) work for \(entry.device ?? "any device"): \(entry.reason)") }
            for warning in warnings { print("warning: \(warning)") }
            return
        }
        let levelSwitch = LogLevelSwitch(settings.logLevel)
        LoggingSystem.bootstrap { SwitchedLogHandler(label: $0, levelSwitch: levelSwitch) }
        let logger = Logger(label: "arcad")

        let claim: ManagementSocket
        do {
            claim = try ManagementSocket(claiming: path)
        } catch {
            FileHandle.standardError.write(Data("arcad: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let state = await DaemonState.discover(config: settings, socketPath: path, logLevel: levelSwitch)
        if case .failure(let error) = state.jobs {
            // No job runs without its store and audit log: their routes answer 503 and status is
            // degraded with the reason, while the rest of the API serves (a non-root arcad with the
            // default /var/lib/arca, a store that fails its check).
            logger.error("jobs, datasets and audit are unavailable: \(error)")
        }
        // After discovery, on purpose: PoCL's LLVM installs handlers for SIGHUP, SIGUSR2 and others that,
        // when one arrives, restore the dispositions of before — SIGTERM's default among them — so a
        // later SIGTERM would kill arcad without its clean stop. Ignoring them here replaces those.
        signal(SIGHUP, SIG_IGN)
        signal(SIGUSR2, SIG_IGN)
        logger.info("config: \(settings.source)")
        for message in state.healthMessages { logger.warning("\(message)") }
        for message in state.roles.problems { logger.warning("\(message)") }

        // One group: the management API stops first, then the job runtime (running jobs end
        // "interrupted" and say so), the party link, and the executors last.
        let grace = Duration.seconds(settings.shutdownGraceSeconds)
        let application = buildApplication(state: state, socket: claim, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: services(state: state, application: application, grace: grace),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = grace * 2
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            if case .success(let services) = state.jobs { await services.runtime.stop(grace: grace) }
            claim.remove()
            state.pool.shutdown()
            FileHandle.standardError.write(Data("arcad: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let removed = claim.remove()
        state.pool.shutdown()
        logger.notice("arcad stopped\(removed ? "; removed \(path)" : "")")
    }
}
