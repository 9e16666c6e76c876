import Foundation

/// The management API, version 1: HTTP/1.1 with JSON bodies on arcad's Unix socket.
///
/// These types are the wire format that both arcad and arcactl use. JSON names are camelCase and
/// stable; a value that is not known is `null`, never a sentinel. The OpenAPI 3 document
/// `Sources/ArcaAPI/openapi.json` describes the same shapes and the tests hold the server to it.
public enum API {
    public static let version = 1
    /// The Arca release these binaries belong to.
    public static let arcaVersion = "0.1.0"
    /// Response header that carries the API version, so a client can tell a mismatched daemon.
    public static let versionHeader = "Arca-API-Version"

    /// The management socket: `flag`, else `ARCA_SOCKET`, else `configured` (arcad's `[server] socket`),
    /// else `/run/arca/arcad.sock` for root and `$XDG_RUNTIME_DIR/arca/arcad.sock` (or
    /// `/tmp/arca-UID/arcad.sock` without `XDG_RUNTIME_DIR`) for other users. A relative path is taken
    /// from the current directory. arcad and arcactl both resolve it here, so they agree.
    public static func socketPath(flag: String?, environment: [String: String], configured: String? = nil) -> String {
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }
        if let flag, !flag.isEmpty { return absolute(flag) }
        if let env = environment["ARCA_SOCKET"], !env.isEmpty { return absolute(env) }
        if let configured { return configured }
        if geteuid() == 0 { return "/run/arca/arcad.sock" }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/arca/arcad.sock" }
        return "/tmp/arca-\(geteuid())/arcad.sock"
    }

    /// An encoder that writes every optional, nil included, as `null`, with sorted keys.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

// MARK: - Errors

/// `{"error": {"code": "...", "message": "..."}}` for every failed request.
public struct ErrorResponse: Codable, Sendable, Equatable {
    public struct Body: Codable, Sendable, Equatable {
        /// Stable, machine-readable: `notFound`, `methodNotAllowed`, `badRequest`,
        /// `payloadTooLarge`, `internal`.
        public var code: String
        /// One line for a person: what was wrong and where.
        public var message: String
    }
    public var error: Body
    public init(code: String, message: String) { error = .init(code: code, message: message) }
}

// MARK: - GET /v1/status

public struct StatusResponse: Codable, Sendable, Equatable {
    public var version: String
    public var apiVersion: Int
    public var pid: Int
    public var uptimeSeconds: Double
    /// The config file that was read, or `"embedded defaults"`.
    public var configSource: String
    public var socketPath: String
    public var nodes: NodeSummary
    public var devices: DeviceSummary
    public var health: Health
    /// One per NUMA node executor: its queue and how busy it has been.
    public var executors: [ExecutorStatus]

    public struct ExecutorStatus: Codable, Sendable, Equatable {
        public var numaNode: Int
        public var pus: [Int]
        public var threads: Int
        /// True when every worker thread is bound to the node's PUs (false on a fallback topology).
        public var bound: Bool
        public var queueDepth: Int
        public var queueCapacity: Int
        public var running: Int
        public var completed: Int
        public var rejected: Int
        /// Seconds the node's threads have spent running work since start.
        public var busySeconds: Double
        public init(
            numaNode: Int, pus: [Int], threads: Int, bound: Bool, queueDepth: Int, queueCapacity: Int,
            running: Int, completed: Int, rejected: Int, busySeconds: Double
        ) {
            self.numaNode = numaNode; self.pus = pus; self.threads = threads; self.bound = bound
            self.queueDepth = queueDepth; self.queueCapacity = queueCapacity; self.running = running
            self.completed = completed; self.rejected = rejected; self.busySeconds = busySeconds
        }
    }

    public struct NodeSummary: Codable, Sendable, Equatable {
        public var numaNodes: Int
        public var numaNodesWithCPUs: Int
        public var pus: Int
        public var allowedPUs: Int
        public var topologySource: String
        public init(numaNodes: Int, numaNodesWithCPUs: Int, pus: Int, allowedPUs: Int, topologySource: String) {
            self.numaNodes = numaNodes; self.numaNodesWithCPUs = numaNodesWithCPUs; self.pus = pus
            self.allowedPUs = allowedPUs; self.topologySource = topologySource
        }
    }
    public struct DeviceSummary: Codable, Sendable, Equatable {
        public var total: Int
        public var opencl: Int
        public var cpu: Int
        public init(total: Int, opencl: Int, cpu: Int) { self.total = total; self.opencl = opencl; self.cpu = cpu }
    }
    public struct Health: Codable, Sendable, Equatable {
        /// `ok`, or `degraded` when something Arca would use is missing (reasons in `messages`).
        public var status: String
        public var messages: [String]
        public init(status: String, messages: [String]) { self.status = status; self.messages = messages }
    }

    public init(
        version: String, apiVersion: Int, pid: Int, uptimeSeconds: Double, configSource: String,
        socketPath: String, nodes: NodeSummary, devices: DeviceSummary, health: Health, executors: [ExecutorStatus]
    ) {
        self.executors = executors
        self.version = version; self.apiVersion = apiVersion; self.pid = pid; self.uptimeSeconds = uptimeSeconds
        self.configSource = configSource; self.socketPath = socketPath; self.nodes = nodes
        self.devices = devices; self.health = health
    }
}

// MARK: - GET /v1/topology

public struct TopologyResponse: Codable, Sendable, Equatable {
    /// `system`, `xml`, `synthetic` or `fallback`.
    public var source: String
    public var packages: [Package]
    public var numaNodes: [NUMANode]
    public var cores: [Core]
    public var pciDevices: [PCIDevice]
    /// The PUs and nodes this process may use (cgroup cpuset).
    public var allowed: Allowed
    /// Where each workload class and each device or NIC would run under the placement config.
    public var plan: Plan

    public struct Plan: Codable, Sendable, Equatable {
        /// `none`, `best-effort`, `restricted` or `single-numa-node`.
        public var policy: String
        /// One executor per usable NUMA node with CPUs.
        public var executors: [PlanExecutor]
        /// PUs kept for arcad's management threads.
        public var reservedPus: [Int]
        public var entries: [PlanEntry]
        public init(policy: String, executors: [PlanExecutor], reservedPus: [Int], entries: [PlanEntry]) {
            self.policy = policy; self.executors = executors; self.reservedPus = reservedPus; self.entries = entries
        }
    }
    public struct PlanExecutor: Codable, Sendable, Equatable {
        public var numaNode: Int
        public var pus: [Int]
        public init(numaNode: Int, pus: [Int]) { self.numaNode = numaNode; self.pus = pus }
    }
    public struct PlanEntry: Codable, Sendable, Equatable {
        /// `he`, `mpc`, `cpu` or `management`.
        public var workloadClass: String
        /// PCI bus id of the device or NIC (or a device id when it has none); `null` for classes not tied to one.
        @Nullable public var device: String?
        @Nullable public var deviceName: String?
        /// The chosen node; `null` when the work may run on several.
        @Nullable public var numaNode: Int?
        public var pus: [Int]
        public var reason: String
        /// True when the policy cannot place the work; such work is not admitted.
        public var refused: Bool
        public init(
            workloadClass: String, device: String?, deviceName: String?, numaNode: Int?, pus: [Int], reason: String,
            refused: Bool
        ) {
            self.workloadClass = workloadClass; self.device = device; self.deviceName = deviceName
            self.numaNode = numaNode; self.pus = pus; self.reason = reason; self.refused = refused
        }
    }

    public struct Package: Codable, Sendable, Equatable {
        @Nullable public var osIndex: Int?
        public var pus: [Int]
        public var numaNodes: [Int]
        public init(osIndex: Int?, pus: [Int], numaNodes: [Int]) {
            self.osIndex = osIndex; self.pus = pus; self.numaNodes = numaNodes
        }
    }
    public struct NUMANode: Codable, Sendable, Equatable {
        public var osIndex: Int
        @Nullable public var memoryBytes: UInt64?
        /// OS indexes of the node's PUs; empty for a CPU-less memory node.
        public var pus: [Int]
        @Nullable public var subtype: String?
        public init(osIndex: Int, memoryBytes: UInt64?, pus: [Int], subtype: String?) {
            self.osIndex = osIndex; self.memoryBytes = memoryBytes; self.pus = pus; self.subtype = subtype
        }
    }
    public struct Core: Codable, Sendable, Equatable {
        @Nullable public var osIndex: Int?
        public var pus: [Int]
        @Nullable public var package: Int?
        @Nullable public var numaNode: Int?
        public init(osIndex: Int?, pus: [Int], package: Int?, numaNode: Int?) {
            self.osIndex = osIndex; self.pus = pus; self.package = package; self.numaNode = numaNode
        }
    }
    public struct PCIDevice: Codable, Sendable, Equatable {
        public var busId: String
        /// `gpu`, `accelerator` or `network`.
        public var kind: String
        public var classId: Int
        public var vendorId: Int
        public var deviceId: Int
        @Nullable public var vendorName: String?
        @Nullable public var deviceName: String?
        public var osDevices: [String]
        @Nullable public var numaNode: Int?
        public var localNumaNodes: [Int]
        public init(
            busId: String, kind: String, classId: Int, vendorId: Int, deviceId: Int, vendorName: String?,
            deviceName: String?, osDevices: [String], numaNode: Int?, localNumaNodes: [Int]
        ) {
            self.busId = busId; self.kind = kind; self.classId = classId; self.vendorId = vendorId
            self.deviceId = deviceId; self.vendorName = vendorName; self.deviceName = deviceName
            self.osDevices = osDevices; self.numaNode = numaNode; self.localNumaNodes = localNumaNodes
        }
    }
    public struct Allowed: Codable, Sendable, Equatable {
        public var pus: [Int]
        public var numaNodes: [Int]
        public init(pus: [Int], numaNodes: [Int]) { self.pus = pus; self.numaNodes = numaNodes }
    }

    public init(
        source: String, packages: [Package], numaNodes: [NUMANode], cores: [Core],
        pciDevices: [PCIDevice], allowed: Allowed, plan: Plan
    ) {
        self.plan = plan
        self.source = source; self.packages = packages; self.numaNodes = numaNodes; self.cores = cores
        self.pciDevices = pciDevices; self.allowed = allowed
    }
}

// MARK: - GET /v1/devices

public struct DevicesResponse: Codable, Sendable, Equatable {
    public var devices: [Device]
    /// Why an expected device is missing (no OpenCL platform, a platform that failed), one line each.
    public var notes: [String]

    public struct Device: Codable, Sendable, Equatable {
        public var id: String
        /// `opencl` or `cpu`.
        public var backend: String
        /// `cpu`, `gpu` or `accelerator`.
        public var type: String
        public var name: String
        public var vendor: String
        public var driverVersion: String
        @Nullable public var computeUnits: Int?
        @Nullable public var globalMemoryBytes: UInt64?
        @Nullable public var localMemoryBytes: UInt64?
        @Nullable public var maxWorkGroupSize: Int?
        @Nullable public var numaNode: Int?
        /// OpenCL platform name; `null` for the CPU fallback.
        @Nullable public var platform: String?
        @Nullable public var openclCVersion: String?
        @Nullable public var pciBusId: String?
        /// Whether the device serves work, and what has gone wrong with it.
        public var health: DeviceHealth
        public init(
            id: String, backend: String, type: String, name: String, vendor: String, driverVersion: String,
            computeUnits: Int?, globalMemoryBytes: UInt64?, localMemoryBytes: UInt64?, maxWorkGroupSize: Int?,
            numaNode: Int?, platform: String?, openclCVersion: String?, pciBusId: String?, health: DeviceHealth
        ) {
            self.health = health
            self.id = id; self.backend = backend; self.type = type; self.name = name; self.vendor = vendor
            self.driverVersion = driverVersion; self.computeUnits = computeUnits
            self.globalMemoryBytes = globalMemoryBytes; self.localMemoryBytes = localMemoryBytes
            self.maxWorkGroupSize = maxWorkGroupSize; self.numaNode = numaNode; self.platform = platform
            self.openclCVersion = openclCVersion; self.pciBusId = pciBusId
        }
    }
    public init(devices: [Device], notes: [String]) { self.devices = devices; self.notes = notes }

    public struct DeviceHealth: Codable, Sendable, Equatable {
        /// `ok`, `failed-self-test` or `quarantined`.
        public var status: String
        /// ISO 8601 time of the last change of status; `null` for the CPU fallback.
        @Nullable public var since: String?
        @Nullable public var reason: String?
        /// Batches re-run on the CPU, by reason.
        public var fallbacks: [String: Int]
        /// Smallest batch the device takes (below it the CPU runs it), per operation; `null` when the
        /// device lost to the CPU at every batch measured, or for the CPU fallback.
        @Nullable public var nttThreshold: Int?
        @Nullable public var modexpThreshold: Int?
        public init(
            status: String, since: String?, reason: String?, fallbacks: [String: Int], nttThreshold: Int?,
            modexpThreshold: Int?
        ) {
            self.status = status; self.since = since; self.reason = reason; self.fallbacks = fallbacks
            self.nttThreshold = nttThreshold; self.modexpThreshold = modexpThreshold
        }
    }
}

// MARK: - PUT /v1/logging

/// The daemon's log level, readable and settable at run time.
public struct LoggingSettings: Codable, Sendable, Equatable {
    /// One of `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`.
    public var level: String
    public init(level: String) { self.level = level }
    public static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

// MARK: - POST /v1/bench

/// What to measure. `op` is `ntt` (with `degree`, `limbs`, `batch` polynomials per limb) or `modexp`
/// (with `modulusBits`, `exponentBits`, `batch` exponentiations); `device` limits the run to one
/// device id (the CPU fallback is always measured as the reference). Omitted values take defaults.
public struct BenchRequest: Codable, Sendable, Equatable {
    public var op: String
    public var degree: Int?
    public var limbs: Int?
    public var batch: Int?
    public var modulusBits: Int?
    public var exponentBits: Int?
    public var repetitions: Int?
    public var device: String?
    public init(
        op: String, degree: Int? = nil, limbs: Int? = nil, batch: Int? = nil, modulusBits: Int? = nil,
        exponentBits: Int? = nil, repetitions: Int? = nil, device: String? = nil
    ) {
        self.op = op; self.degree = degree; self.limbs = limbs; self.batch = batch; self.modulusBits = modulusBits
        self.exponentBits = exponentBits; self.repetitions = repetitions; self.device = device
    }
}

public struct BenchResponse: Codable, Sendable, Equatable {
    /// Identifies the run in the history (`GET /v1/bench/history`, `arcactl bench --compare ID`).
    public var id: String
    /// ISO 8601 time the run ended.
    public var time: String
    /// False when the run could not be written to the history (the reason is in `environment.history`).
    public var saved: Bool
    public var op: String
    /// The parameters as run, defaults filled in: `degree`, `limbs`, `batch` or `modulusBits`, `exponentBits`, `batch`.
    public var parameters: [String: Int]
    public var repetitions: Int
    public var results: [Result]
    /// OpenSSL's single-thread modexp rate (`BN_mod_exp_mont_consttime`, same sizes, same run); `null` for NTT.
    @Nullable public var openSSLSingleThreadPerSecond: Double?
    /// arcad's placement and machine at the time of the run; `programs` (built, cached, prebuilt) and
    /// `workGroupSizes` (per device and operation; "driver's choice" when the driver picks).
    public var environment: [String: String]

    public struct Result: Codable, Sendable, Equatable {
        public var device: String
        /// `opencl` or `cpu`.
        public var backend: String
        /// Median seconds per batch over the repetitions.
        public var secondsPerBatch: Double
        /// Operations per second (NTTs or modexps) at the median.
        public var perSecond: Double
        /// perSecond over the CPU fallback's; `null` when the CPU fallback is the device itself.
        @Nullable public var speedupOverCPU: Double?
        /// Why the device did not run it, if a batch fell back to the CPU.
        @Nullable public var fallback: String?
        public init(
            device: String, backend: String, secondsPerBatch: Double, perSecond: Double, speedupOverCPU: Double?,
            fallback: String?
        ) {
            self.device = device; self.backend = backend; self.secondsPerBatch = secondsPerBatch;
            self.perSecond = perSecond
            self.speedupOverCPU = speedupOverCPU; self.fallback = fallback
        }
    }

    public init(
        id: String, time: String, saved: Bool, op: String, parameters: [String: Int], repetitions: Int,
        results: [Result],
        openSSLSingleThreadPerSecond: Double?, environment: [String: String]
    ) {
        self.id = id; self.time = time; self.saved = saved
        self.op = op; self.parameters = parameters; self.repetitions = repetitions; self.results = results
        self.openSSLSingleThreadPerSecond = openSSLSingleThreadPerSecond; self.environment = environment
    }
}

/// `GET /v1/bench/history`: the kept runs, oldest first (at most the last 200).
public struct BenchHistoryResponse: Codable, Sendable, Equatable {
    public var runs: [BenchResponse]
    public init(runs: [BenchResponse]) { self.runs = runs }
}
