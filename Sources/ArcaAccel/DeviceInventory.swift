import ArcaCrypto
import ArcaOpenCL
import ArcaTopology
import Foundation

/// One compute device Arca can use: an OpenCL device or the CPU fallback.
public struct DeviceDescriptor: Sendable, Equatable {
    public enum Backend: String, Sendable { case opencl, cpu }
    public enum Kind: String, Sendable { case cpu, gpu, accelerator }

    /// Stable across restarts on the same machine: `cpu` for the fallback; for OpenCL devices
    /// `ocl-` and 8 hex digits of SHA-256(platform name, device name, PCI bus id or position).
    public var id: String
    public var backend: Backend
    public var type: Kind
    public var name: String
    public var vendor: String
    public var driverVersion: String
    public var computeUnits: Int?
    public var globalMemoryBytes: UInt64?
    public var localMemoryBytes: UInt64?
    public var maxWorkGroupSize: Int?
    /// The NUMA node nearest the device, `nil` when unknown or when it spans several nodes.
    public var numaNode: Int?
    /// OpenCL platform name; `nil` for the CPU fallback.
    public var platform: String?
    /// `OpenCL C x.y` the device compiles, `nil` for the CPU fallback.
    public var openCLCVersion: String?
    public var pciBusId: String?
    /// Positions for ``OpenCLComputeDevice`` (platform, device); `nil` for the CPU fallback.
    public var openCLIndex: (platform: Int, device: Int)? { platformIndex.map { ($0, deviceIndex ?? 0) } }
    var platformIndex: Int?
    var deviceIndex: Int?
}

/// Every device Arca can use on this machine, with the reasons any expected device is missing.
public struct DeviceInventory: Sendable, Equatable {
    public var devices: [DeviceDescriptor]
    /// Why OpenCL contributed no device or fewer than expected, in one line each.
    public var notes: [String]

    /// Asks the OpenCL ICD loader for its platforms and adds the CPU fallback device, which is always
    /// present. Never throws: a loader that fails becomes a note. With `openCL` false only the CPU
    /// fallback is listed.
    public static func discover(topology: Topology, openCL: Bool = true) -> DeviceInventory {
        var devices: [DeviceDescriptor] = []
        var notes: [String] = []
        if !openCL {
            notes.append(
                "OpenCL disabled by the config ([devices] opencl = false); only the CPU fallback device is available")
        } else {
            do {
                let (platforms, failures) = try OpenCLDiscovery.platforms()
                notes += failures.map { "OpenCL: \($0)" }
                if platforms.isEmpty {
                    notes.append(
                        """
                        no OpenCL platform: the ICD loader found none (CL_PLATFORM_NOT_FOUND_KHR); only the CPU \
                        fallback device is available
                        """
                    )
                }
                for platform in platforms {
                    if platform.devices.isEmpty { notes.append("OpenCL platform \(platform.name) has no device") }
                    for device in platform.devices {
                        devices.append(descriptor(device, platform: platform, topology: topology))
                    }
                }
            } catch {
                notes.append("OpenCL unavailable: \(error); only the CPU fallback device is available")
            }
        }
        devices.append(cpuFallback(topology: topology))
        return DeviceInventory(devices: devices, notes: notes)
    }

    static func descriptor(
        _ device: OpenCLDeviceInfo, platform: OpenCLPlatformInfo, topology: Topology
    ) -> DeviceDescriptor {
        let key = [platform.name, device.name, device.pciBusId ?? "#\(platform.index).\(device.index)"].joined(
            separator: "\u{1f}")
        let digest = (try? Digest.sha256.hex(Array(key.utf8))) ?? "00000000"
        let numaNode: Int?
        if let bus = device.pciBusId {
            numaNode = topology.pciDevices.first { $0.busId == bus }?.numaNode
        } else {
            numaNode = device.type == .cpu ? soleCPUNode(topology) : nil
        }
        return DeviceDescriptor(
            id: "ocl-" + digest.prefix(8),
            backend: .opencl,
            type: device.type == .gpu ? .gpu : device.type == .cpu ? .cpu : .accelerator,
            name: device.name, vendor: device.vendor, driverVersion: device.driverVersion,
            computeUnits: device.computeUnits, globalMemoryBytes: device.globalMemoryBytes,
            localMemoryBytes: device.localMemoryBytes, maxWorkGroupSize: device.maxWorkGroupSize,
            numaNode: numaNode, platform: platform.name, openCLCVersion: device.openCLCVersion,
            pciBusId: device.pciBusId, platformIndex: platform.index, deviceIndex: device.index)
    }

    /// The CPU fallback: Arca's own kernels on the allowed PUs (OpenSSL for big-integer modexp).
    static func cpuFallback(topology: Topology) -> DeviceDescriptor {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            cpuinfo.split(separator: "\n").first { $0.hasPrefix(name) }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let memory = topology.numaNodes.filter { topology.allowed.numaNodes.contains($0.osIndex) }
            .compactMap(\.memoryBytes)
        return DeviceDescriptor(
            id: "cpu", backend: .cpu, type: .cpu,
            name: field("model name") ?? "CPU",
            vendor: field("vendor_id") ?? "unknown",
            driverVersion: "Arca CPU fallback, \(OpenSSLLibrary.version)",
            computeUnits: topology.allowed.pus.count,
            globalMemoryBytes: memory.isEmpty ? nil : memory.reduce(0, +),
            localMemoryBytes: nil, maxWorkGroupSize: nil,
            numaNode: soleCPUNode(topology), platform: nil, openCLCVersion: nil, pciBusId: nil)
    }

    /// The only allowed NUMA node with CPUs, if there is exactly one.
    static func soleCPUNode(_ topology: Topology) -> Int? {
        let nodes = topology.numaNodes.filter { !$0.pus.isEmpty && topology.allowed.numaNodes.contains($0.osIndex) }
        return nodes.count == 1 ? nodes[0].osIndex : nil
    }
}
