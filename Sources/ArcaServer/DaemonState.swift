import ArcaAPI
import ArcaAccel
import ArcaExecutors
import ArcaHE
import ArcaSystem
import ArcaTopology
import Foundation
import Logging
import Synchronization

/// What arcad knows about itself and its machine: discovered once at start, read by every request.
public final class DaemonState: Sendable {
    public let config: ArcadConfig
    public let socketPath: String
    public let topology: Topology
    public let devices: DeviceInventory
    /// The NUMA executors and the placement plan they follow.
    public let pool: ExecutorPool
    /// The devices that serve batches, self-tested, with their health and the CPU fallback.
    public let registry: DeviceRegistry
    /// Reasons the daemon runs degraded (no OpenCL platform, hwloc fallback, …), one line each.
    public let healthMessages: [String]
    public let logLevel: LogLevelSwitch
    /// Jobs, datasets, grants, usage and the audit log; the error when they could not be opened.
    public let jobs: Result<JobServices, any Error>
    /// Who may read and who may change things, from `[roles]`.
    public let roles: RolePolicy
    let started = ContinuousClock.now
    /// True while a bench runs: benches run one at a time.
    let benchRunning = Mutex(false)
    /// The Paillier key store under `<state>/he`, opened at first use.
    let heKeyStore = Mutex<PaillierKeyStore?>(nil)

    public init(
        config: ArcadConfig, socketPath: String, topology: Topology, devices: DeviceInventory,
        pool: ExecutorPool, registry: DeviceRegistry, healthMessages: [String], logLevel: LogLevelSwitch,
        jobs: Result<JobServices, any Error>, roles: RolePolicy
    ) {
        self.jobs = jobs
        self.roles = roles
        self.pool = pool
        self.registry = registry
        self.config = config
        self.socketPath = socketPath
        self.topology = topology
        self.devices = devices
        self.healthMessages = healthMessages
        self.logLevel = logLevel
    }

    /// Discovers the machine (hwloc) and its devices (OpenCL ICD loader, plus the CPU fallback).
    public static func discover(config: ArcadConfig, socketPath: String, logLevel: LogLevelSwitch) async -> DaemonState
    {
        let (topology, hwloc, warning) = Topology.discover()
        let devices = DeviceInventory.discover(topology: topology, openCL: config.openCLEnabled)
        // OpenCL devices hwloc does not list as PCI devices (PoCL's CPU device) are planned too.
        let extra = devices.devices.filter { $0.backend == .opencl && $0.pciBusId == nil }
            .map { PlacementDevice(id: $0.id, name: $0.name, numaNode: $0.numaNode) }
        let plan = topology.plan(config.placement, extraDevices: extra)
        var bindingWarning: String?
        if let hwloc, !plan.reservedPUs.isEmpty {
            // Management (the server's threads, started later) keeps the reserved core(s); the executors
            // started next bind their own threads to their nodes.
            do { try hwloc.bindProcess(to: plan.reservedPUs) } catch {
                bindingWarning = "management threads unbound: \(error)"
            }
        }
        let pool = ExecutorPool(plan: plan, topology: hwloc, capacity: config.queueCapacity, whenFull: config.whenFull)
        var messages = devices.notes
        if let warning { messages.insert(warning, at: 0) }
        if let bindingWarning { messages.append(bindingWarning) }
        if plan.executors.isEmpty {
            messages.append("no NUMA executor: every node is excluded, not allowed or CPU-less")
        }
        for executor in pool.executors where !executor.bindingProblems.isEmpty {
            messages.append("executor of node \(executor.numaNode) runs unbound: \(executor.bindingProblems[0])")
        }
        for entry in plan.entries where entry.refused {
            messages.append(
                """
                placement refuses \(entry.workloadClass.rawValue) work for \(entry.device ?? "any device"): \
                \(entry.reason)
                """
            )
        }
        if !NUMAMemory.isAvailable { messages.append("the kernel has no NUMA policy support (numa_available() < 0)") }
        let loader = ProgramLoader(
            sourceDirectory: config.kernelDirectory,
            cacheDirectory: config.kernelCache ? config.stateDirectory + "/kernel-cache" : nil,
            prebuiltDirectory: config.prebuiltDirectory)
        let registry = await DeviceRegistry(inventory: devices, pool: pool, loader: loader)
        for (id, health) in registry.healthByDevice.sorted(by: { $0.key < $1.key }) where health.status != .ok {
            messages.append("device \(id) is not used: \(health.reason ?? health.status.rawValue)")
        }
        let jobs = Result { try JobServices(config: config, pool: pool, registry: registry) }
        switch jobs {
        case .success(let services):
            messages += services.audit.startupProblems
            if let problem = services.partyProblem { messages.append(problem) }
        case .failure(let error): messages.append("jobs, datasets and audit are unavailable: \(error)")
        }
        // Missing role groups are a setup choice, not a fault: arcad logs them, --check-config warns.
        let roles = RolePolicy(viewGroup: config.viewGroup, adminGroup: config.adminGroup)
        return DaemonState(
            config: config, socketPath: socketPath, topology: topology, devices: devices,
            pool: pool, registry: registry, healthMessages: messages, logLevel: logLevel, jobs: jobs, roles: roles)
    }

    var status: StatusResponse {
        let nodes = topology.numaNodes
        let opencl = devices.devices.filter { $0.backend == .opencl }.count
        return StatusResponse(
            version: API.arcaVersion, apiVersion: API.version, pid: Int(ProcessInfo.processInfo.processIdentifier),
            uptimeSeconds: (ContinuousClock.now - started).seconds,
            configSource: config.source, socketPath: socketPath,
            nodes: .init(
                numaNodes: nodes.count, numaNodesWithCPUs: nodes.filter { !$0.pus.isEmpty }.count,
                pus: topology.pus.count, allowedPUs: topology.allowed.pus.count,
                topologySource: topology.source),
            devices: .init(total: devices.devices.count, opencl: opencl, cpu: devices.devices.count - opencl),
            health: {
                // Start-up findings, plus devices quarantined since, as they stand now.
                let live = registry.healthByDevice.sorted { $0.key < $1.key }.compactMap { id, health -> String? in
                    guard health.status == .quarantined else { return nil }
                    let since = health.since.map { ISO8601DateFormatter().string(from: $0) } ?? "?"
                    return "device \(id) quarantined since \(since): \(health.reason ?? "")"
                }
                let messages = healthMessages + live
                return .init(status: messages.isEmpty ? "ok" : "degraded", messages: messages)
            }(),
            executors: pool.executors.map { executor in
                let stats = executor.statistics
                return .init(
                    numaNode: executor.numaNode, pus: executor.pus, threads: executor.threads, bound: executor.isBound,
                    queueDepth: stats.queueDepth, queueCapacity: executor.capacity, running: stats.running,
                    completed: stats.completed, rejected: stats.rejected, busySeconds: stats.busySeconds)
            })
    }
}

/// The daemon's log level, changeable while it runs (`PUT /v1/logging`).
public final class LogLevelSwitch: Sendable {
    private let level: Mutex<Logger.Level>
    public init(_ level: Logger.Level) { self.level = Mutex(level) }
    public var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// A `StreamLogHandler` on standard error whose level follows a ``LogLevelSwitch``.
public struct SwitchedLogHandler: LogHandler {
    var inner: StreamLogHandler
    let levelSwitch: LogLevelSwitch
    public init(label: String, levelSwitch: LogLevelSwitch) {
        inner = StreamLogHandler.standardError(label: label)
        self.levelSwitch = levelSwitch
    }
    public var logLevel: Logger.Level {
        get { levelSwitch.current }
        set { levelSwitch.current = newValue }
    }
    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }
    public func log(event: LogEvent) {
        inner.log(event: event)
    }
}
