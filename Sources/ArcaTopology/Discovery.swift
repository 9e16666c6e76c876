import CNUMA

#if canImport(Glibc)
import Glibc
#endif

extension Topology {
    /// The running machine's topology, or — when hwloc cannot load it — a one-node model made from
    /// `sysconf`, with the reason in `warning`. Arca keeps running either way. `hwloc` is the loaded
    /// handle, for binding; `nil` on the fallback, where nothing is bound.
    public static func discover() -> (topology: Topology, hwloc: HwlocTopology?, warning: String?) {
        do {
            let hwloc = try HwlocTopology(.system)
            return (hwloc.snapshot(), hwloc, nil)
        } catch {
            return (
                fallback(), nil, "hwloc could not load the topology (\(error)); assuming one NUMA node, threads unbound"
            )
        }
    }

    /// One NUMA node holding every online PU, as `sysconf` reports them.
    public static func fallback() -> Topology {
        let count = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = Int(getpagesize())
        let pus = Array(0..<count)
        return Topology(
            source: "fallback", isThisSystem: true,
            packages: [.init(osIndex: nil, pus: pus, numaNodes: [0])],
            numaNodes: [
                .init(osIndex: 0, memoryBytes: pages > 0 ? UInt64(pages * pageSize) : nil, pus: pus, subtype: nil)
            ],
            cores: pus.map { .init(osIndex: nil, pus: [$0], package: nil, numaNode: 0) },
            pciDevices: [],
            allowed: .init(pus: pus, numaNodes: [0]))
    }
}

/// The kernel's NUMA memory policy interface, through libnuma.
public enum NUMAMemory {
    /// True when the kernel supports the NUMA policy calls (`numa_available() >= 0`).
    public static var isAvailable: Bool { numa_available() >= 0 }

    /// The NUMA node (OS index) of the page that holds `address`, as the kernel reports it
    /// (`get_mempolicy` with `MPOL_F_NODE | MPOL_F_ADDR`). Touch the page first: an untouched page
    /// has no node yet.
    /// - Throws: ``TopologyError`` with the errno.
    public static func node(of address: UnsafeRawPointer) throws -> Int {
        var node: Int32 = -1
        let status = get_mempolicy(
            &node, nil, 0, UnsafeMutableRawPointer(mutating: address),
            UInt32(MPOL_F_NODE | MPOL_F_ADDR))
        guard status == 0 else { throw TopologyError("get_mempolicy", "address \(address)") }
        return Int(node)
    }
}
