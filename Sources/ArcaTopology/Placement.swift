/// Where each class of work runs: the placement policy and its plan.
///
/// The policy names are those of Kubernetes' Topology Manager, with the same spirit:
/// - `none`: no NUMA alignment; work may run on any usable PU.
/// - `best-effort`: work runs on the node nearest its device or NIC when that node is usable, else
///   anywhere, with the reason recorded.
/// - `restricted`: work runs on the nodes nearest its device or NIC, or is refused.
/// - `single-numa-node`: work runs on exactly one node — the nearest, else it is refused; work with
///   no locality (the CPU fallback) gets one node per batch, chosen by load.
public enum PlacementPolicy: String, CaseIterable, Sendable, Codable {
    case none
    case bestEffort = "best-effort"
    case restricted
    case singleNUMANode = "single-numa-node"
}

/// The classes of work that placement knows.
public enum WorkloadClass: String, CaseIterable, Sendable, Codable, Comparable {
    /// Compute-heavy HE work: goes to the node of the accelerator that serves it.
    case he
    /// Network-bound MPC work: goes to the node of the NIC that carries the party link.
    case mpc
    /// Work on the CPU fallback: spreads over the usable nodes by load.
    case cpu
    /// arcad's own management threads: keep the reserved core(s).
    case management

    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// The operator's placement settings (`[placement]` in arcad's config).
public struct PlacementConfig: Sendable, Equatable {
    public var policy: PlacementPolicy
    /// Cores kept for management; `nil` means one when at least 4 cores are usable, else none.
    public var reservedCores: Int?
    /// NUMA nodes (OS indexes) that get no work.
    public var excludedNodes: [Int]
    /// Workload classes pinned to chosen nodes, overriding locality.
    public var pinned: [WorkloadClass: [Int]]
    /// The network interface that carries the party link (e.g. `ens1f0`); `nil`: every NIC is planned.
    public var partyInterface: String?

    public init(
        policy: PlacementPolicy = .bestEffort, reservedCores: Int? = nil, excludedNodes: [Int] = [],
        pinned: [WorkloadClass: [Int]] = [:], partyInterface: String? = nil
    ) {
        self.policy = policy; self.reservedCores = reservedCores; self.excludedNodes = excludedNodes
        self.pinned = pinned; self.partyInterface = partyInterface
    }
}

/// A compute device that placement must know beyond the PCI devices hwloc lists (an OpenCL device
/// without a PCI bus id, such as PoCL's CPU device).
public struct PlacementDevice: Sendable, Equatable {
    public var id: String
    public var name: String
    public var numaNode: Int?
    public init(id: String, name: String, numaNode: Int?) { self.id = id; self.name = name; self.numaNode = numaNode }
}

/// The plan: the executors (one per usable node with CPUs), the reserved PUs, and for each workload
/// class and each device or NIC the chosen node and PUs, with the reason.
public struct PlacementPlan: Sendable, Equatable {
    public struct Executor: Sendable, Equatable {
        public var numaNode: Int
        public var pus: [Int]
    }
    public struct Entry: Sendable, Equatable {
        public var workloadClass: WorkloadClass
        /// The PCI bus id of the device or NIC (or the device id when it has none); `nil` for
        /// classes that are not tied to one (CPU fallback, management).
        public var device: String?
        /// A name for people: the NIC's interface, the device's name.
        public var deviceName: String?
        /// The chosen node, `nil` when the work may run on several.
        public var numaNode: Int?
        /// The PUs the work may run on (OS indexes); empty when refused.
        public var pus: [Int]
        public var reason: String
        /// True when the policy cannot place this work: such work is not admitted.
        public var refused: Bool
    }

    public var policy: PlacementPolicy
    public var executors: [Executor]
    public var reservedPUs: [Int]
    public var entries: [Entry]

    /// The entry for `workloadClass` and `device` (bus id or id), if any.
    public func entry(_ workloadClass: WorkloadClass, device: String? = nil) -> Entry? {
        entries.first { $0.workloadClass == workloadClass && (device == nil || $0.device == device) }
    }
}

extension Topology {
    /// Plans placement on this topology. Pure: binds nothing, so it works as well on an hwloc XML
    /// file of another machine. Only allowed PUs of allowed, not excluded nodes with CPUs are used;
    /// CPU-less memory nodes never get work.
    public func plan(_ config: PlacementConfig, extraDevices: [PlacementDevice] = []) -> PlacementPlan {
        let allowedPUs = Set(allowed.pus)
        let excluded = Set(config.excludedNodes)
        var nodePUs: [Int: [Int]] = [:]
        for node in numaNodes where allowed.numaNodes.contains(node.osIndex) && !excluded.contains(node.osIndex) {
            let pus = node.pus.filter(allowedPUs.contains)
            if !pus.isEmpty { nodePUs[node.osIndex] = pus }
        }
        // Management keeps whole cores, taken from the lowest usable node.
        let usableCores = cores.filter { core in core.pus.contains { pu in nodePUs.values.contains { $0.contains(pu) } }
        }
        let reserveCount = min(config.reservedCores ?? (usableCores.count >= 4 ? 1 : 0), max(0, usableCores.count - 1))
        let reservedPUs = usableCores.sorted { ($0.pus.first ?? 0) < ($1.pus.first ?? 0) }.prefix(reserveCount)
            .flatMap { $0.pus.filter(allowedPUs.contains) }.sorted()
        for (node, pus) in nodePUs {
            let left = pus.filter { !reservedPUs.contains($0) }
            nodePUs[node] = left.isEmpty ? nil : left
        }
        let usableNodes = nodePUs.keys.sorted()
        let allPUs = usableNodes.flatMap { nodePUs[$0]! }.sorted()
        let cpuNodes = Set(numaNodes.filter { !$0.pus.isEmpty }.map(\.osIndex))

        func why(_ node: Int) -> String {
            if !numaNodes.contains(where: { $0.osIndex == node }) { return "does not exist on this machine" }
            if excluded.contains(node) { return "is excluded by the config" }
            if !allowed.numaNodes.contains(node) { return "is outside the allowed cpuset" }
            if !cpuNodes.contains(node) { return "is a CPU-less memory node" }
            return "has no usable PU"
        }
        func place(
            _ workloadClass: WorkloadClass, device: String?, name: String?, preferred: [Int], what: String
        ) -> PlacementPlan.Entry {
            var entry = PlacementPlan.Entry(
                workloadClass: workloadClass, device: device, deviceName: name, numaNode: nil,
                pus: allPUs, reason: "", refused: false)
            func refuse(_ reason: String) -> PlacementPlan.Entry {
                entry.pus = []; entry.refused = true; entry.reason = reason; return entry
            }
            if let pinned = config.pinned[workloadClass] {
                let nodes = pinned.filter { nodePUs[$0] != nil }
                guard !nodes.isEmpty else {
                    return refuse(
                        "pinned to node(s) \(pinned) by the config, but "
                            + pinned.map { "node \($0) \(why($0))" }.joined(separator: ", "))
                }
                let chosen = config.policy == .singleNUMANode ? [nodes[0]] : nodes
                entry.numaNode = chosen.count == 1 ? chosen[0] : nil
                entry.pus = chosen.flatMap { nodePUs[$0]! }.sorted()
                entry.reason = "pinned to node(s) \(chosen) by the config"
                return entry
            }
            if usableNodes.isEmpty {
                return refuse("no usable NUMA node: every node is excluded, outside the allowed cpuset or CPU-less")
            }
            if config.policy == .none {
                entry.reason = "policy none: no NUMA alignment; any usable PU"
                return entry
            }
            if preferred.isEmpty {
                if config.policy == .singleNUMANode, workloadClass != .cpu, let first = usableNodes.first {
                    entry.numaNode = first; entry.pus = nodePUs[first]!
                    entry.reason = "\(what) has no known NUMA locality; single-numa-node uses node \(first)"
                } else if workloadClass == .cpu {
                    entry.reason =
                        "CPU fallback work spreads over nodes \(usableNodes) by load"
                        + (config.policy == .singleNUMANode ? ", one node per batch" : "")
                } else {
                    entry.reason = "\(what) has no known NUMA locality; any usable PU"
                }
                return entry
            }
            let usable = preferred.filter { nodePUs[$0] != nil }
            if usable.isEmpty {
                let reasons = preferred.map { "node \($0) \(why($0))" }.joined(separator: ", ")
                if config.policy == .bestEffort {
                    entry.reason =
                        "\(what) is local to node(s) \(preferred), but \(reasons); best-effort runs it on any usable PU"
                    return entry
                }
                return refuse(
                    "\(what) is local to node(s) \(preferred), but \(reasons); \(config.policy.rawValue) refuses it")
            }
            let chosen = config.policy == .singleNUMANode ? [usable[0]] : usable
            entry.numaNode = chosen.count == 1 ? chosen[0] : nil
            entry.pus = chosen.flatMap { nodePUs[$0]! }.sorted()
            entry.reason = "nearest node(s) of \(what): \(chosen)"
            return entry
        }
        func locality(_ device: PCIDevice) -> [Int] {
            device.numaNode.map { [$0] } ?? device.localNUMANodes.filter(cpuNodes.contains)
        }

        var entries: [PlacementPlan.Entry] = []
        for device in pciDevices where device.kind != .network {
            entries.append(
                place(
                    .he, device: device.busId, name: device.deviceName ?? device.osDevices.first,
                    preferred: locality(device), what: "\(device.kind.rawValue) \(device.busId)"))
        }
        for device in extraDevices {
            entries.append(
                place(
                    .he, device: device.id, name: device.name, preferred: device.numaNode.map { [$0] } ?? [],
                    what: "device \(device.id)"))
        }
        let nics = pciDevices.filter { $0.kind == .network }
        if let interface = config.partyInterface {
            if let nic = nics.first(where: { $0.osDevices.contains(interface) }) {
                entries.append(
                    place(
                        .mpc, device: nic.busId, name: interface, preferred: locality(nic),
                        what: "NIC \(interface) (\(nic.busId))"))
            } else {
                entries.append(
                    .init(
                        workloadClass: .mpc, device: nil, deviceName: interface, numaNode: nil, pus: allPUs,
                        reason: "party link interface \(interface) is not a PCI NIC hwloc knows; any usable PU",
                        refused: false))
            }
        } else {
            for nic in nics {
                entries.append(
                    place(
                        .mpc, device: nic.busId, name: nic.osDevices.first, preferred: locality(nic),
                        what: "NIC \(nic.osDevices.first ?? nic.busId) (\(nic.busId))"))
            }
            if nics.isEmpty {
                entries.append(
                    place(.mpc, device: nil, name: nil, preferred: [], what: "the party link (no NIC known)"))
            }
        }
        entries.append(place(.cpu, device: nil, name: nil, preferred: [], what: "CPU fallback work"))
        let managementNode = Set(reservedPUs.compactMap { pu in numaNodes.first { $0.pus.contains(pu) }?.osIndex })
        entries.append(
            .init(
                workloadClass: .management, device: nil, deviceName: nil,
                numaNode: managementNode.count == 1 ? managementNode.first : nil,
                pus: reservedPUs.isEmpty ? allPUs : reservedPUs,
                reason: reservedPUs.isEmpty
                    ? "no core reserved (\(usableCores.count) usable core(s)); management shares the usable PUs"
                    : "\(reserveCount) reserved core(s): PUs \(reservedPUs)",
                refused: false))
        return PlacementPlan(
            policy: config.policy,
            executors: usableNodes.map { .init(numaNode: $0, pus: nodePUs[$0]!) },
            reservedPUs: reservedPUs, entries: entries)
    }
}
