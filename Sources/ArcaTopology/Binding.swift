import ArcaSystem
import CHwloc
import Foundation

/// Why a binding or a node-bound allocation failed.
public struct BindingError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension HwlocTopology {
    /// Binds the calling thread to `pus` (OS indexes), strictly (`hwloc_set_cpubind` with
    /// `HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT`).
    /// - Throws: ``BindingError`` when this topology is not the running system (binding there would
    ///   silently do nothing), when `pus` is empty, or with the errno hwloc reports.
    public func bindCurrentThread(to pus: [Int]) throws {
        guard isThisSystem else {
            throw BindingError("cannot bind on a topology loaded from \(Self.describe(source)): it is not this machine")
        }
        guard !pus.isEmpty else { throw BindingError("cannot bind a thread to an empty set of PUs") }
        let set = bitmap(pus)
        defer { hwloc_bitmap_free(set) }
        let flags = Int32(HWLOC_CPUBIND_THREAD.rawValue | HWLOC_CPUBIND_STRICT.rawValue)
        guard hwloc_set_cpubind(handle, set, flags) == 0 else {
            throw BindingError("hwloc_set_cpubind to PUs \(pus) failed: \(Errno.current)")
        }
    }

    /// Binds every thread of this process to `pus` (`HWLOC_CPUBIND_PROCESS`); threads started later
    /// inherit it until they bind themselves. arcad calls this with the management PUs before it
    /// starts its executors (which bind their own threads) and its server threads (which inherit).
    /// - Throws: ``BindingError`` as ``bindCurrentThread(to:)``.
    public func bindProcess(to pus: [Int]) throws {
        guard isThisSystem else {
            throw BindingError("cannot bind on a topology loaded from \(Self.describe(source)): it is not this machine")
        }
        guard !pus.isEmpty else { throw BindingError("cannot bind the process to an empty set of PUs") }
        let set = bitmap(pus)
        defer { hwloc_bitmap_free(set) }
        guard hwloc_set_cpubind(handle, set, Int32(HWLOC_CPUBIND_PROCESS.rawValue)) == 0 else {
            throw BindingError("hwloc_set_cpubind (process) to PUs \(pus) failed: \(Errno.current)")
        }
    }

    /// The PU the calling thread last ran on (`hwloc_get_last_cpu_location`), or `nil` if unknown.
    public func currentPU() -> Int? {
        let set = hwloc_bitmap_alloc()
        defer { hwloc_bitmap_free(set) }
        guard hwloc_get_last_cpu_location(handle, set, Int32(HWLOC_CPUBIND_THREAD.rawValue)) == 0 else { return nil }
        let first = hwloc_bitmap_first(set)
        return first >= 0 ? Int(first) : nil
    }

    func bitmap(_ indexes: [Int]) -> hwloc_bitmap_t {
        let set = hwloc_bitmap_alloc()!
        for index in indexes { hwloc_bitmap_set(set, UInt32(index)) }
        return set
    }
}

/// A buffer whose pages are bound to one NUMA node (`hwloc_alloc_membind`, `HWLOC_MEMBIND_BIND`
/// by nodeset), freed with `hwloc_free` in `deinit`. Pages are placed when first touched; the
/// initializer touches every page so the placement holds from the start.
/// - Warning: not thread-safe; hand it to one worker at a time.
public final class NodeBoundBuffer: @unchecked Sendable {
    public let node: Int
    public let byteCount: Int
    private let topology: HwlocTopology
    private let base: UnsafeMutableRawPointer

    /// Allocates `byteCount` bytes on `node` (OS index).
    /// - Throws: ``BindingError`` when the topology is not this system, the node is unknown, or
    ///   hwloc cannot allocate there.
    public init(byteCount: Int, node: Int, topology: HwlocTopology) throws {
        guard topology.isThisSystem else {
            throw BindingError("cannot bind memory on a topology that is not this machine")
        }
        guard byteCount > 0 else { throw BindingError("a node-bound buffer needs at least one byte") }
        let set = topology.bitmap([node])
        defer { hwloc_bitmap_free(set) }
        let flags = Int32(HWLOC_MEMBIND_BYNODESET.rawValue)
        guard let pointer = hwloc_alloc_membind(topology.handle, byteCount, set, HWLOC_MEMBIND_BIND, flags) else {
            throw BindingError(
                "hwloc_alloc_membind of \(byteCount) bytes on NUMA node \(node) failed: \(Errno.current)")
        }
        self.node = node
        self.byteCount = byteCount
        self.topology = topology
        self.base = pointer
        let page = Int(getpagesize())
        for offset in stride(from: 0, to: byteCount, by: page) {
            pointer.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
        }
    }

    deinit { hwloc_free(topology.handle, base, byteCount) }

    /// Access to the bytes, valid only inside `body`.
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: byteCount))
    }
}

/// What the kernel itself says about the calling thread, read from `/proc/thread-self/status`.
public enum KernelThreadView {
    /// The thread's CPU affinity (`Cpus_allowed_list`, the kernel's `sched_getaffinity` mask).
    public static func affinity() throws -> [Int] {
        let status = try String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else {
            throw BindingError("/proc/thread-self/status has no Cpus_allowed_list")
        }
        return parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)))
    }
}

/// Parses a kernel CPU list such as `0-3,8,10-11` into sorted indexes.
public func parseCPUList(_ text: String) -> [Int] {
    text.trimmingCharacters(in: .whitespaces).split(separator: ",").flatMap { part -> [Int] in
        let bounds = part.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if bounds.count == 2, bounds[0] <= bounds[1] { return Array(bounds[0]...bounds[1]) }
        return bounds.count == 1 ? bounds : []
    }.sorted()
}
