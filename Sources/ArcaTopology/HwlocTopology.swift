import ArcaSystem
import CHwloc

#if canImport(Glibc)
import Glibc
#endif

/// An error from loading or reading a topology. Carries the hwloc call, the input and the C cause.
public struct TopologyError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    init(_ call: String, _ context: String, errno code: Int32 = errno) {
        message = "\(call) failed for \(context): \(Errno(rawValue: code))"
    }
}

/// A loaded hwloc topology: the one C handle of this module, freed in `deinit`.
///
/// Wraps `hwloc_topology_init`, `_set_flags`, `_set_io_types_filter`, `_set_components`,
/// `_set_xml`, `_set_synthetic` and `_load`. The topology is loaded with
/// `HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED`, so the full machine and the allowed part (cgroup cpuset)
/// are both visible. hwloc's own OpenCL discovery plugin is excluded: Arca's OpenCL discovery is the
/// one that counts, and the two clash when run on different threads (PLATFORM-NOTES).
/// - Warning: not thread-safe for concurrent mutation; ``snapshot()`` only reads.
public final class HwlocTopology: @unchecked Sendable {
    public enum Source: Sendable, Equatable {
        /// The machine this process runs on.
        case system
        /// An exported hwloc XML file (`lstopo file.xml`) of another machine.
        case xmlFile(String)
        /// An hwloc synthetic description, e.g. `"pack:2 numa:2 core:4 pu:2"`.
        case synthetic(String)
    }

    let handle: hwloc_topology_t
    public let source: Source

    /// Loads a topology.
    /// - Throws: ``TopologyError`` naming the hwloc call and the input (file path or description).
    public init(_ source: Source = .system) throws {
        var raw: hwloc_topology_t?
        guard hwloc_topology_init(&raw) == 0, let topology = raw else {
            throw TopologyError("hwloc_topology_init", "the topology")
        }
        self.handle = topology
        self.source = source
        _ = hwloc_topology_set_flags(topology, UInt(HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED.rawValue))
        _ = hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_IMPORTANT)
        _ = hwloc_topology_set_components(
            topology, UInt(HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST.rawValue), "opencl")
        switch source {
        case .system:
            break
        case .xmlFile(let path):
            guard hwloc_topology_set_xml(topology, path) == 0 else {
                throw TopologyError("hwloc_topology_set_xml", "XML file \(path)")
            }
        case .synthetic(let description):
            guard hwloc_topology_set_synthetic(topology, description) == 0 else {
                throw TopologyError("hwloc_topology_set_synthetic", "description \"\(description)\"")
            }
        }
        guard hwloc_topology_load(topology) == 0 else {
            throw TopologyError("hwloc_topology_load", Self.describe(source))
        }
    }

    deinit { hwloc_topology_destroy(handle) }

    static func describe(_ source: Source) -> String {
        switch source {
        case .system: return "this system"
        case .xmlFile(let path): return "XML file \(path)"
        case .synthetic(let description): return "synthetic description \"\(description)\""
        }
    }

    /// True when this topology is the running machine (`hwloc_topology_is_thissystem`): binding on
    /// any other topology silently does nothing.
    public var isThisSystem: Bool { hwloc_topology_is_thissystem(handle) != 0 }

    /// The machine as plain values. See ``Topology``.
    public func snapshot() -> Topology {
        // A PU belongs to its local NUMA node: the first memory child of its nearest ancestor that has
        // memory children. A CPU-less node (HBM, CXL) attached higher up — whose hwloc cpuset is its
        // parent's — is nobody's local node, so its PU list is empty, as Linux's node cpulist is.
        var nodeOfPU: [Int: Int] = [:]
        for pu in objects(HWLOC_OBJ_PU) {
            var ancestor = pu.pointee.parent
            while let object = ancestor, object.pointee.memory_arity == 0 { ancestor = object.pointee.parent }
            if let node = ancestor?.pointee.memory_first_child {
                nodeOfPU[Int(pu.pointee.os_index)] = Int(node.pointee.os_index)
            }
        }
        let numaNodes = objects(HWLOC_OBJ_NUMANODE).map { node in
            let memory = node.pointee.attr?.pointee.numanode.local_memory ?? 0
            let osIndex = Int(node.pointee.os_index)
            return Topology.NUMANode(
                osIndex: osIndex,
                memoryBytes: memory > 0 ? memory : nil,
                pus: nodeOfPU.filter { $0.value == osIndex }.keys.sorted(),
                subtype: node.pointee.subtype.map { String(cString: $0) })
        }.sorted { $0.osIndex < $1.osIndex }
        // The local node of every PU in `cpuset`, if they share one.
        func nodeHolding(_ cpuset: hwloc_const_bitmap_t?) -> Int? {
            let nodes = Set(indexes(cpuset).compactMap { nodeOfPU[$0] })
            return nodes.count == 1 ? nodes.first : nil
        }
        let packages = objects(HWLOC_OBJ_PACKAGE).map { package in
            Topology.Package(
                osIndex: osIndex(package),
                pus: indexes(package.pointee.cpuset),
                numaNodes: indexes(package.pointee.nodeset))
        }
        var cores = objects(HWLOC_OBJ_CORE).map { core in
            Topology.Core(
                osIndex: osIndex(core),
                pus: indexes(core.pointee.cpuset),
                package: hwloc_get_ancestor_obj_by_type(handle, HWLOC_OBJ_PACKAGE, core).flatMap(osIndex),
                numaNode: nodeHolding(core.pointee.cpuset))
        }
        if cores.isEmpty {  // some virtual machines report PUs only
            cores = objects(HWLOC_OBJ_PU).map { pu in
                Topology.Core(
                    osIndex: nil, pus: indexes(pu.pointee.cpuset), package: nil,
                    numaNode: nodeHolding(pu.pointee.cpuset))
            }
        }
        let cpuNodes = Set(numaNodes.filter { !$0.pus.isEmpty }.map(\.osIndex))
        var pciDevices: [Topology.PCIDevice] = []
        var pci = hwloc_get_next_pcidev(handle, nil)
        while let device = pci {
            defer { pci = hwloc_get_next_pcidev(handle, device) }
            guard let attr = device.pointee.attr?.pointee.pcidev,
                let kind = Topology.PCIDevice.Kind(classId: Int(attr.class_id))
            else { continue }
            let ancestor = hwloc_get_non_io_ancestor_obj(handle, device)
            let local = ancestor.map { indexes($0.pointee.nodeset) } ?? []
            let localWithCPUs = local.filter(cpuNodes.contains)
            pciDevices.append(
                Topology.PCIDevice(
                    busId: hexPadded(Int(attr.domain), 4) + ":" + hexPadded(Int(attr.bus), 2) + ":"
                        + hexPadded(Int(attr.dev), 2) + "." + String(Int(attr.func), radix: 16),
                    kind: kind,
                    classId: Int(attr.class_id),
                    vendorId: Int(attr.vendor_id),
                    deviceId: Int(attr.device_id),
                    vendorName: info(device, "PCIVendor"),
                    deviceName: info(device, "PCIDevice"),
                    osDevices: osDevices(under: device),
                    numaNode: localWithCPUs.count == 1 ? localWithCPUs[0] : nil,
                    localNUMANodes: local))
        }
        return Topology(
            source: sourceName,
            isThisSystem: isThisSystem,
            packages: packages,
            numaNodes: numaNodes,
            cores: cores,
            pciDevices: pciDevices,
            allowed: .init(
                pus: indexes(hwloc_topology_get_allowed_cpuset(handle)),
                numaNodes: indexes(hwloc_topology_get_allowed_nodeset(handle))))
    }

    var sourceName: String {
        switch source {
        case .system: return isThisSystem ? "system" : "xml"  // HWLOC_XMLFILE may redirect a plain load
        case .xmlFile: return "xml"
        case .synthetic: return "synthetic"
        }
    }

    // MARK: - Reading hwloc objects

    func objects(_ type: hwloc_obj_type_t) -> [hwloc_obj_t] {
        let count = hwloc_get_nbobjs_by_type(handle, type)
        guard count > 0 else { return [] }
        return (0..<UInt32(count)).compactMap { hwloc_get_obj_by_type(handle, type, $0) }
    }

    func osIndex(_ object: hwloc_obj_t) -> Int? {
        object.pointee.os_index == UInt32.max ? nil : Int(object.pointee.os_index)  // HWLOC_UNKNOWN_INDEX
    }

    func info(_ object: hwloc_obj_t, _ name: String) -> String? {
        hwloc_obj_get_info_by_name(object, name).map { String(cString: $0) }
    }

    func osDevices(under device: hwloc_obj_t) -> [String] {
        var names: [String] = []
        var child = device.pointee.io_first_child
        while let object = child {
            if object.pointee.type == HWLOC_OBJ_OS_DEVICE, let name = object.pointee.name {
                names.append(String(cString: name))
            }
            child = object.pointee.next_sibling
        }
        return names
    }
}

/// The set bits of an hwloc bitmap as sorted indexes (`hwloc_bitmap_first` / `_next`; the iteration
/// macros do not import). An infinitely set bitmap is cut at 65536.
func indexes(_ bitmap: hwloc_const_bitmap_t?) -> [Int] {
    guard let bitmap else { return [] }
    var result: [Int] = []
    var index = hwloc_bitmap_first(bitmap)
    while index >= 0 && index < 65536 {
        result.append(Int(index))
        index = hwloc_bitmap_next(bitmap, index)
    }
    return result
}

/// Lowercase hex, zero-padded to `width`.
func hexPadded(_ value: Int, _ width: Int) -> String {
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - hex.count)) + hex
}
