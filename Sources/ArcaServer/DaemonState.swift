import ArcaAPI
import ArcaAccel
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
    /// Reasons the daemon runs degraded (no OpenCL platform, hwloc fallback, …), one line each.
    public let healthMessages: [String]
    public let logLevel: LogLevelSwitch
    let started = ContinuousClock.now

    public init(config: ArcadConfig, socketPath: String, topology: Topology, devices: DeviceInventory,
                healthMessages: [String], logLevel: LogLevelSwitch) {
        self.config = config
        self.socketPath = socketPath
        self.topology = topology
        self.devices = devices
        self.healthMessages = healthMessages
        self.logLevel = logLevel
    }

    /// Discovers the machine (hwloc) and its devices (OpenCL ICD loader, plus the CPU fallback).
    public static func discover(config: ArcadConfig, socketPath: String, logLevel: LogLevelSwitch) -> DaemonState {
        let (topology, warning) = Topology.discover()
        let devices = DeviceInventory.discover(topology: topology, openCL: config.openCLEnabled)
        var messages = devices.notes
        if let warning { messages.insert(warning, at: 0) }
        if !NUMAMemory.isAvailable { messages.append("the kernel has no NUMA policy support (numa_available() < 0)") }
        return DaemonState(config: config, socketPath: socketPath, topology: topology, devices: devices,
                           healthMessages: messages, logLevel: logLevel)
    }

    var status: StatusResponse {
        let nodes = topology.numaNodes
        let opencl = devices.devices.filter { $0.backend == .opencl }.count
        return StatusResponse(
            version: API.arcaVersion, apiVersion: API.version, pid: Int(ProcessInfo.processInfo.processIdentifier),
            uptimeSeconds: (ContinuousClock.now - started).seconds,
            configSource: config.source, socketPath: socketPath,
            nodes: .init(numaNodes: nodes.count, numaNodesWithCPUs: nodes.filter { !$0.pus.isEmpty }.count,
                         pus: topology.pus.count, allowedPUs: topology.allowed.pus.count,
                         topologySource: topology.source),
            devices: .init(total: devices.devices.count, opencl: opencl, cpu: devices.devices.count - opencl),
            health: .init(status: healthMessages.isEmpty ? "ok" : "degraded", messages: healthMessages))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
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
