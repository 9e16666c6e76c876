import ArcaAPI
import ArcaServer
import ArcaTopology
import ArgumentParser
import Foundation

@main
struct Arcactl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arcactl",
        abstract: "Operate an Arca appliance through arcad's management socket.",
        discussion: Failure.exitCodeHelp,
        version: API.arcaVersion,
        subcommands: [
            Status.self, TopologyCommand.self, Devices.self, Bench.self, LogLevel.self, PeersCommand.self,
            JobCommand.self, DatasetCommand.self, UsageCommand.self, AuditCommand.self, HE.self,
        ])
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's version, uptime, machine summary and health.",
        discussion: Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await runReporting {
            let (status, data) = try await APIClient(options: connection).get(StatusResponse.self, "/v1/status")
            if connection.json { return printJSON(data) }
            print(
                table(
                    ["FIELD", "VALUE"],
                    [
                        ["version", "\(status.version) (API v\(status.apiVersion))"],
                        ["pid", "\(status.pid)"],
                        ["uptime", String(format: "%.1f s", status.uptimeSeconds)],
                        ["config", status.configSource],
                        ["socket", status.socketPath],
                        [
                            "NUMA nodes",
                            """
                            \(status.nodes.numaNodes) (\(status.nodes.numaNodesWithCPUs) with CPUs), topology \
                            from \(status.nodes.topologySource)
                            """,
                        ],
                        ["PUs", "\(status.nodes.allowedPUs) allowed of \(status.nodes.pus)"],
                        [
                            "devices",
                            """
                            \(status.devices.total): \(status.devices.opencl) OpenCL, \(status.devices.cpu) CPU \
                            fallback
                            """,
                        ],
                        ["health", status.health.status],
                    ]))
            for message in status.health.messages { print("  ! \(message)") }
            print("")
            if status.executors.isEmpty {
                return print("no NUMA executor: work is refused (see the health lines above)")
            }
            print(
                table(
                    ["EXECUTOR", "PUS", "THREADS", "BOUND", "QUEUE", "RUNNING", "DONE", "REJECTED", "BUSY"],
                    status.executors.map { executor in
                        [
                            "node \(executor.numaNode)", ranges(executor.pus), "\(executor.threads)",
                            executor.bound ? "yes" : "no",
                            "\(executor.queueDepth)/\(executor.queueCapacity)", "\(executor.running)",
                            "\(executor.completed)",
                            "\(executor.rejected)", String(format: "%.3f s", executor.busySeconds),
                        ]
                    }))
        }
    }
}

struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract:
            """
            Show the machine: NUMA nodes with their PUs and memory, the devices and NICs on each, and the \
            placement plan.
            """,
        discussion: """
            With --input FILE.xml it reads an hwloc XML export of another machine (lstopo FILE.xml) instead \
            of asking arcad: no daemon is needed and nothing is bound, so an appliance can be planned \
            before it arrives. The plan then follows the embedded placement defaults, changed by the \
            options below; `--json` prints it under the `plan` key.

            """ + Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions

    @Option(
        name: .long,
        help: ArgumentHelp("hwloc XML file of a machine to plan, read without a daemon.", valueName: "file.xml"))
    var input: String?
    @Option(name: .long, help: "With --input: none, best-effort, restricted or single-numa-node.")
    var policy: String = PlacementPolicy.bestEffort.rawValue
    @Option(name: .long, help: ArgumentHelp("With --input: the party link's network interface.", valueName: "name"))
    var partyInterface: String?
    @Option(
        name: .long, parsing: .upToNextOption,
        help: ArgumentHelp("With --input: NUMA nodes that get no work.", valueName: "node"))
    var excludeNodes: [Int] = []
    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --input: cores reserved for management (default: 1 from 4 cores up).", valueName: "count"))
    var reservedCores: Int?

    func validate() throws {
        guard PlacementPolicy(rawValue: policy) != nil else {
            throw ValidationError(
                "--policy must be one of \(PlacementPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if input == nil
            && (partyInterface != nil || !excludeNodes.isEmpty || reservedCores != nil
                || policy != PlacementPolicy.bestEffort.rawValue)
        {
            throw ValidationError(
                """
                --policy, --party-interface, --exclude-nodes and --reserved-cores plan an --input file; a running \
                arcad plans from its config
                """
            )
        }
        if let reservedCores, reservedCores < 0 { throw ValidationError("--reserved-cores must be 0 or more") }
    }

    func run() async throws {
        try await runReporting {
            let topology: TopologyResponse
            let data: Data
            if let input {
                let machine: Topology
                do {
                    machine = try HwlocTopology(.xmlFile(input)).snapshot()
                } catch {
                    throw Failure.badInput("\(input) is not a usable hwloc XML topology: \(error)")
                }
                let config = PlacementConfig(
                    policy: PlacementPolicy(rawValue: policy)!, reservedCores: reservedCores,
                    excludedNodes: excludeNodes, partyInterface: partyInterface)
                topology = TopologyResponse(machine, plan: machine.plan(config))
                data = try API.encoder().encode(topology)
            } else {
                (topology, data) = try await APIClient(options: connection).get(TopologyResponse.self, "/v1/topology")
            }
            if connection.json { return printJSON(data) }
            print(
                """
                Topology from \(input ?? topology.source): \(topology.packages.count) package(s), \
                \(topology.numaNodes.count) NUMA node(s), \(topology.cores.count) core(s)
                """
            )
            print("Allowed: PUs \(ranges(topology.allowed.pus)), nodes \(ranges(topology.allowed.numaNodes))\n")
            print(
                table(
                    ["NODE", "MEMORY", "PUS", "CORES", "ALLOWED", "DEVICES"],
                    topology.numaNodes.map { node in
                        let cores = topology.cores.filter { $0.numaNode == node.osIndex }.count
                        let devices = topology.pciDevices.filter { $0.numaNode == node.osIndex }
                            .map { $0.busId + ($0.osDevices.first.map { " (\($0))" } ?? "") }
                        return [
                            "\(node.osIndex)" + (node.subtype.map { " (\($0))" } ?? ""), bytes(node.memoryBytes),
                            node.pus.isEmpty ? "none (memory only)" : ranges(node.pus), "\(cores)",
                            topology.allowed.numaNodes.contains(node.osIndex) ? "yes" : "no",
                            devices.isEmpty ? "-" : devices.joined(separator: ", "),
                        ]
                    }))
            if !topology.pciDevices.isEmpty {
                print("")
                print(
                    table(
                        ["PCI", "KIND", "NODE", "NAME", "OS DEVICES"],
                        topology.pciDevices.map { device in
                            [
                                device.busId, device.kind, device.numaNode.map(String.init) ?? "unknown",
                                [device.vendorName, device.deviceName].compactMap { $0 }.joined(separator: " ").ifEmpty(
                                    String(format: "%04x:%04x", device.vendorId, device.deviceId)),
                                device.osDevices.isEmpty ? "-" : device.osDevices.joined(separator: " "),
                            ]
                        }))
            }
            let plan = topology.plan
            let executors = plan.executors.map { "\($0.numaNode): PUs \(ranges($0.pus))" }.joined(separator: "; ")
            print("\nPlacement plan (policy \(plan.policy)); executors on node(s) \(executors.ifEmpty("none"))")
            print(
                table(
                    ["CLASS", "DEVICE", "NODE", "PUS", "WHY"],
                    plan.entries.map { entry in
                        [
                            entry.workloadClass,
                            [entry.device, entry.deviceName.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
                                .ifEmpty("-"),
                            entry.refused ? "REFUSED" : entry.numaNode.map(String.init) ?? "any",
                            entry.refused ? "-" : ranges(entry.pus), entry.reason,
                        ]
                    }))
        }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the compute devices Arca can use: OpenCL devices and the CPU fallback.",
        discussion: Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await runReporting {
            let (devices, data) = try await APIClient(options: connection).get(DevicesResponse.self, "/v1/devices")
            if connection.json { return printJSON(data) }
            print(
                table(
                    ["ID", "BACKEND", "TYPE", "STATUS", "NAME", "UNITS", "MEMORY", "NODE", "DRIVER"],
                    devices.devices.map { device in
                        [
                            device.id, device.backend, device.type, device.health.status, device.name,
                            device.computeUnits.map(String.init) ?? "-", bytes(device.globalMemoryBytes),
                            device.numaNode.map(String.init) ?? "-",
                            (device.platform.map { "\($0) " } ?? "") + device.driverVersion,
                        ]
                    }))
            for note in devices.notes { print("  ! \(note)") }
            for device in devices.devices where device.health.status != "ok" || !device.health.fallbacks.isEmpty {
                let health = device.health
                var line = "  ! \(device.id): \(health.status)"
                if let since = health.since { line += " since \(since)" }
                if let reason = health.reason {
                    let lines: [Substring] = reason.split(separator: "\n")
                    line += ": " + lines.prefix(6).joined(separator: " | ")
                }
                if !health.fallbacks.isEmpty {
                    let reruns: [String] = health.fallbacks.map { "\($0.key) ×\($0.value)" }
                    line += "; CPU re-runs: " + reruns.joined(separator: ", ")
                }
                print(line)
            }
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the NTT or modexp on every device as deployed, beside the CPU fallback and OpenSSL.",
        discussion: """
            arcad runs the benchmark through the same path jobs use (self-tested devices, programs built \
            once), timing each device and the CPU fallback in one run; for modexp it also measures OpenSSL's \
            single-thread rate as the baseline. Medians over --repetitions. Debug builds are no measure: \
            benchmark a release arcad.

            """ + Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "ntt or modexp.") var op: String?
    @Flag(help: "List the kept runs instead of running one.") var history = false
    @Option(
        help: ArgumentHelp(
            "Run again with the parameters of the kept run ID and show each device's rate against it.", valueName: "id")
    )
    var compare: String?
    @Option(help: "NTT degree (power of two, 1024 to 131072).") var degree: Int?
    @Option(help: "NTT RNS limbs (60-bit primes).") var limbs: Int?
    @Option(help: "Polynomials per limb (ntt) or exponentiations (modexp) per batch.") var batch: Int?
    @Option(name: .long, help: "Modexp modulus bits (multiple of 64, 1024 to 8192).") var modulusBits: Int?
    @Option(name: .long, help: "Modexp exponent bits.") var exponentBits: Int?
    @Option(help: "Timed batches per device (median reported).") var repetitions: Int?
    @Option(help: "Measure only this device id (the CPU fallback is always measured).") var device: String?

    func validate() throws {
        if history || compare != nil {
            guard op == nil, degree == nil, limbs == nil, batch == nil, modulusBits == nil, exponentBits == nil,
                repetitions == nil, device == nil,
                !(history && compare != nil)
            else {
                throw ValidationError(
                    "--history and --compare stand alone: --compare reruns the kept run's own parameters")
            }
        } else {
            guard let op, ["ntt", "modexp"].contains(op) else {
                throw ValidationError("--op must be ntt or modexp (or use --history, --compare ID)")
            }
        }
    }

    func run() async throws {
        var connection = connection
        if connection.timeout == 10 { connection.timeout = 600 }  // a bench takes longer than a query
        try await runReporting {
            let client = APIClient(options: connection)
            if history || compare != nil {
                let (runs, data) = try await client.get(BenchHistoryResponse.self, "/v1/bench/history")
                if history {
                    if connection.json { return printJSON(data) }
                    return print(
                        table(
                            ["ID", "TIME", "OP", "PARAMETERS", "BEST DEVICE", "RATE/s"],
                            runs.runs.map { run in
                                let best = run.results.max { $0.perSecond < $1.perSecond }
                                return [
                                    run.id, run.time, run.op,
                                    run.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                                        separator: " "),
                                    best?.device ?? "-", best.map { String(format: "%.1f", $0.perSecond) } ?? "-",
                                ]
                            }))
                }
                guard let saved = runs.runs.first(where: { $0.id == compare }) else {
                    throw Failure.badInput("no kept bench run with id \(compare!); see arcactl bench --history")
                }
                let request = BenchRequest(
                    op: saved.op, degree: saved.parameters["degree"], limbs: saved.parameters["limbs"],
                    batch: saved.parameters["batch"], modulusBits: saved.parameters["modulusBits"],
                    exponentBits: saved.parameters["exponentBits"], repetitions: saved.repetitions)
                FileHandle.standardError.write(
                    Data("arcactl: benchmarking \(saved.op) again to compare with \(saved.id)…\n".utf8))
                let rerun = try await client.call(.POST, "/v1/bench", body: try API.encoder().encode(request))
                let now = try JSONDecoder().decode(BenchResponse.self, from: rerun)
                if connection.json { return printJSON(rerun) }
                print("\(now.op) \(now.id) against \(saved.id) (\(saved.time))")
                return print(
                    table(
                        ["DEVICE", "THEN/s", "NOW/s", "NOW/THEN"],
                        now.results.map { result in
                            let then = saved.results.first { $0.device == result.device }
                            return [
                                result.device, then.map { String(format: "%.1f", $0.perSecond) } ?? "-",
                                String(format: "%.1f", result.perSecond),
                                then.map { String(format: "%.2f×", result.perSecond / $0.perSecond) } ?? "new device",
                            ]
                        }))
            }
            let op = op!
            let body = try API.encoder().encode(
                BenchRequest(
                    op: op, degree: degree, limbs: limbs, batch: batch, modulusBits: modulusBits,
                    exponentBits: exponentBits, repetitions: repetitions, device: device))
            FileHandle.standardError.write(Data("arcactl: benchmarking \(op) on arcad's devices…\n".utf8))
            let data = try await withProgress { try await client.call(.POST, "/v1/bench", body: body) }
            if connection.json { return printJSON(data) }
            let bench = try JSONDecoder().decode(BenchResponse.self, from: data)
            print(
                "run \(bench.id)"
                    + (bench.saved
                        ? " (kept: arcactl bench --compare \(bench.id))"
                        : " (not kept: \(bench.environment["history"] ?? "")"))
            print(
                "\(bench.op) "
                    + bench.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    + ", median of \(bench.repetitions)")
            let unit = bench.op == "ntt" ? "NTTs/s" : "modexps/s"
            print(
                table(
                    ["DEVICE", "BACKEND", "s/BATCH", unit, "vs CPU", "FALLBACK"],
                    bench.results.map { result in
                        [
                            result.device, result.backend, String(format: "%.6f", result.secondsPerBatch),
                            String(format: "%.1f", result.perSecond),
                            result.speedupOverCPU.map { String(format: "%.2f×", $0) } ?? "-", result.fallback ?? "-",
                        ]
                    }))
            if let openSSL = bench.openSSLSingleThreadPerSecond {
                print(String(format: "OpenSSL single thread: %.1f modexps/s", openSSL))
            }
            for (key, value) in bench.environment.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value)") }
        }
    }
}

/// Runs `body`, telling a person at a terminal every 5 s how long it has been running.
func withProgress<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    guard isatty(2) == 1 else { return try await body() }
    let ticker = Task {
        var seconds = 0
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(5))
            seconds += 5
            FileHandle.standardError.write(Data("arcactl: still measuring (\(seconds) s)…\n".utf8))
        }
    }
    defer { ticker.cancel() }
    return try await body()
}

struct LogLevel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-level",
        abstract: "Show the daemon's log level, or set it while it runs.",
        discussion: Failure.exitCodeHelp)
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "New level: trace, debug, info, notice, warning, error or critical.")
    var level: String?

    func validate() throws {
        if let level, !LoggingSettings.levels.contains(level) {
            throw ValidationError("level must be one of \(LoggingSettings.levels.joined(separator: ", "))")
        }
    }

    func run() async throws {
        try await runReporting {
            let client = APIClient(options: connection)
            let data: Data
            if let level {
                data = try await client.call(
                    .PUT, "/v1/logging", body: try API.encoder().encode(LoggingSettings(level: level)))
            } else {
                data = try await client.call(.GET, "/v1/logging")
            }
            if connection.json { return printJSON(data) }
            let settings = try JSONDecoder().decode(LoggingSettings.self, from: data)
            print("log level: \(settings.level)")
        }
    }
}

extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
