/// The machine as Arca sees it: packages, NUMA nodes, cores, PUs and the PCI devices that matter
/// (GPUs, other accelerators, NICs), with the part of it this process may use.
///
/// Plain values, built by ``HwlocTopology/snapshot()`` from the running system or from an exported
/// hwloc XML file of another machine. All indexes are OS indexes (what Linux calls CPU 3 or node 1),
/// never hwloc's logical indexes.
public struct Topology: Sendable, Equatable {
    /// Where the picture came from: `"system"`, `"xml"` or `"synthetic"`, or `"fallback"` when hwloc
    /// could not load and the model was made from `sysconf` alone.
    public var source: String
    /// True when the topology describes the machine this process runs on, so binding is meaningful.
    /// False for XML and synthetic topologies: hwloc accepts binding calls on them and does nothing.
    public var isThisSystem: Bool
    public var packages: [Package]
    public var numaNodes: [NUMANode]
    public var cores: [Core]
    public var pciDevices: [PCIDevice]
    /// The PUs and NUMA nodes this process may use (cgroup cpuset), as OS indexes.
    public var allowed: Allowed

    public struct Package: Sendable, Equatable {
        /// OS index, `nil` when the machine does not report one.
        public var osIndex: Int?
        /// OS indexes of the PUs in this package.
        public var pus: [Int]
        /// OS indexes of the NUMA nodes local to this package, CPU-less ones included.
        public var numaNodes: [Int]
    }

    public struct NUMANode: Sendable, Equatable {
        public var osIndex: Int
        /// Local memory in bytes; `nil` when hwloc does not know it.
        public var memoryBytes: UInt64?
        /// OS indexes of the PUs of this node; empty for a CPU-less memory node (HBM, CXL).
        public var pus: [Int]
        /// hwloc's subtype for special memory (`"HBM"`, `"CXL-DRAM"`, …), else `nil`.
        public var subtype: String?
    }

    public struct Core: Sendable, Equatable {
        public var osIndex: Int?
        /// OS indexes of this core's PUs (hardware threads).
        public var pus: [Int]
        /// OS index of the package that holds the core, if known.
        public var package: Int?
        /// OS index of the NUMA node whose cpuset holds the core, if exactly one does.
        public var numaNode: Int?
    }

    public struct PCIDevice: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable { case gpu, accelerator, network }
        /// PCI bus id, `dddd:bb:dd.f` in lowercase hex, e.g. `0000:3b:00.0`.
        public var busId: String
        public var kind: Kind
        /// PCI class id, e.g. `0x0302` for a 3D controller, `0x0200` for Ethernet.
        public var classId: Int
        public var vendorId: Int
        public var deviceId: Int
        /// Vendor and device names as hwloc knows them (from pci.ids), when it does.
        public var vendorName: String?
        public var deviceName: String?
        /// Names of the OS devices behind it: `ens1f0`, `card0`, `renderD128`, …
        public var osDevices: [String]
        /// The NUMA node with CPUs nearest the device; `nil` when its locality spans several nodes or
        /// is unknown.
        public var numaNode: Int?
        /// Every NUMA node (OS index) in the device's locality.
        public var localNUMANodes: [Int]
    }

    public struct Allowed: Sendable, Equatable {
        public var pus: [Int]
        public var numaNodes: [Int]
    }

    /// All PUs of the machine, sorted by OS index.
    public var pus: [Int] { Array(Set(numaNodes.flatMap(\.pus) + cores.flatMap(\.pus))).sorted() }
}

extension Topology.PCIDevice.Kind {
    /// The kind of a device from its PCI class id, or `nil` for a class Arca does not list
    /// (storage, bridges, USB, …). PCI Code and ID Assignment Specification, rev. 1.11, §1.
    public init?(classId: Int) {
        switch classId >> 8 {
        case 0x03: self = .gpu  // display controller: VGA, 3D
        case 0x12: self = .accelerator  // processing accelerator
        case 0x02: self = .network  // network controller: Ethernet, InfiniBand
        default:
            if classId == 0x0b40 { self = .accelerator } else { return nil }  // co-processor
        }
    }
}
