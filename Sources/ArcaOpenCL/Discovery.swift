import COpenCL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What an OpenCL device says of itself (`clGetDeviceInfo`), in plain values.
public struct OpenCLDeviceInfo: Sendable, Equatable {
    public enum DeviceType: String, Sendable { case cpu, gpu, accelerator, other }
    /// Position in the platform's `clGetDeviceIDs(CL_DEVICE_TYPE_ALL)` list.
    public var index: Int
    public var name: String
    public var vendor: String
    /// `CL_DRIVER_VERSION`.
    public var driverVersion: String
    /// `CL_DEVICE_VERSION`, e.g. `OpenCL 3.0 PoCL …`.
    public var deviceVersion: String
    /// `CL_DEVICE_OPENCL_C_VERSION`, e.g. `OpenCL C 1.2 PoCL`.
    public var openCLCVersion: String
    public var type: DeviceType
    public var computeUnits: Int
    public var globalMemoryBytes: UInt64
    public var localMemoryBytes: UInt64
    public var maxWorkGroupSize: Int
    public var extensions: [String]
    /// PCI bus id `dddd:bb:dd.f` from `cl_khr_pci_bus_info` or `cl_nv_device_attribute_query`, when
    /// the driver offers either; `nil` for CPU devices and drivers that do not say.
    public var pciBusId: String?
}

public struct OpenCLPlatformInfo: Sendable, Equatable {
    public var index: Int
    public var name: String
    public var vendor: String
    public var version: String
    public var devices: [OpenCLDeviceInfo]
}

/// The OpenCL platforms and devices behind the ICD loader.
public enum OpenCLDiscovery {
    /// Every platform and its devices.
    ///
    /// An empty array when the loader finds no platform (`CL_PLATFORM_NOT_FOUND_KHR`, as when
    /// `OCL_ICD_VENDORS` names an empty directory). A platform whose devices cannot be listed is
    /// returned with no devices and its error in `failures`.
    /// - Throws: ``OpenCLError`` when `clGetPlatformIDs` fails for another reason.
    public static func platforms() throws -> (platforms: [OpenCLPlatformInfo], failures: [OpenCLError]) {
        try lock.withLock { _ in try discover() }
    }

    /// One discovery at a time in this process: PoCL's initialisation is not safe to race.
    static let lock = Mutex(())

    /// PoCL's CPU device loads its own hwloc topology, and hwloc's OpenCL plugin then re-enters the
    /// ICD loader from inside PoCL's initialisation; run beside another thread's OpenCL calls, that
    /// made `clGetDeviceIDs` return `CL_DEVICE_NOT_FOUND` at random. Switching hwloc's `opencl`
    /// (and X11 `gl`) discovery off process-wide, unless the operator set `HWLOC_COMPONENTS`, keeps
    /// Arca's own discovery the only one.
    static func excludeHwlocOpenCLPlugin() {
        setenv("HWLOC_COMPONENTS", "-opencl,-gl", 0)
    }

    static func discover() throws -> (platforms: [OpenCLPlatformInfo], failures: [OpenCLError]) {
        excludeHwlocOpenCLPlugin()
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        let noPlatform = OpenCLStatus(rawValue: status) == .platformNotFoundKHR
        if noPlatform || (status == CL_SUCCESS && count == 0) { return ([], []) }
        try check(status, "clGetPlatformIDs", "the ICD loader")
        var ids = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &ids, nil), "clGetPlatformIDs", "the ICD loader")
        var platforms: [OpenCLPlatformInfo] = []
        var failures: [OpenCLError] = []
        for (index, id) in ids.enumerated() {
            guard let id else { continue }
            let name = platformString(id, cl_platform_info(CL_PLATFORM_NAME))
            var platform = OpenCLPlatformInfo(
                index: index, name: name,
                vendor: platformString(id, cl_platform_info(CL_PLATFORM_VENDOR)),
                version: platformString(id, cl_platform_info(CL_PLATFORM_VERSION)),
                devices: [])
            do {
                platform.devices = try devices(of: id, platformName: name)
            } catch let error as OpenCLError {
                failures.append(error)
            }
            platforms.append(platform)
        }
        return (platforms, failures)
    }

    static func devices(of platform: cl_platform_id, platformName: String) throws -> [OpenCLDeviceInfo] {
        var count: cl_uint = 0
        let all = cl_device_type(CL_DEVICE_TYPE_ALL)
        let status = clGetDeviceIDs(platform, all, 0, nil, &count)
        if status == CL_DEVICE_NOT_FOUND { return [] }
        try check(status, "clGetDeviceIDs", "platform \(platformName)")
        var ids = [cl_device_id?](repeating: nil, count: Int(count))
        try check(clGetDeviceIDs(platform, all, count, &ids, nil), "clGetDeviceIDs", "platform \(platformName)")
        return ids.enumerated().compactMap { index, id in
            guard let id else { return nil }
            let rawType: cl_device_type = scalar(id, CL_DEVICE_TYPE) ?? 0
            let type: OpenCLDeviceInfo.DeviceType =
                rawType & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
                ? .gpu
                : rawType & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0
                    ? .accelerator
                    : rawType & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? .cpu : .other
            let extensions = deviceString(id, CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init)
            let units: cl_uint = scalar(id, CL_DEVICE_MAX_COMPUTE_UNITS) ?? 0
            let global: cl_ulong = scalar(id, CL_DEVICE_GLOBAL_MEM_SIZE) ?? 0
            let local: cl_ulong = scalar(id, CL_DEVICE_LOCAL_MEM_SIZE) ?? 0
            let workGroup: Int = scalar(id, CL_DEVICE_MAX_WORK_GROUP_SIZE) ?? 0
            return OpenCLDeviceInfo(
                index: index,
                name: deviceString(id, CL_DEVICE_NAME),
                vendor: deviceString(id, CL_DEVICE_VENDOR),
                driverVersion: deviceString(id, CL_DRIVER_VERSION),
                deviceVersion: deviceString(id, CL_DEVICE_VERSION),
                openCLCVersion: deviceString(id, CL_DEVICE_OPENCL_C_VERSION),
                type: type,
                computeUnits: Int(units),
                globalMemoryBytes: UInt64(global),
                localMemoryBytes: UInt64(local),
                maxWorkGroupSize: workGroup,
                extensions: extensions,
                pciBusId: pciBusId(id, extensions: extensions))
        }
    }

    /// `cl_khr_pci_bus_info` (`CL_DEVICE_PCI_BUS_INFO_KHR` = 0x410F: domain, bus, device, function)
    /// or NVIDIA's `CL_DEVICE_PCI_BUS_ID_NV` / `_SLOT_ID_NV` (0x4008 / 0x4009).
    static func pciBusId(_ id: cl_device_id, extensions: [String]) -> String? {
        func hex(_ v: cl_uint, _ width: Int) -> String {
            let s = String(v, radix: 16); return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        if extensions.contains("cl_khr_pci_bus_info") {
            var info = [cl_uint](repeating: 0, count: 4)
            let ok = info.withUnsafeMutableBytes {
                clGetDeviceInfo(id, cl_device_info(0x410F), $0.count, $0.baseAddress, nil) == CL_SUCCESS
            }
            if ok { return "\(hex(info[0], 4)):\(hex(info[1], 2)):\(hex(info[2], 2)).\(String(info[3], radix: 16))" }
        }
        if extensions.contains("cl_nv_device_attribute_query"),
            let bus: cl_uint = scalar(id, 0x4008), let slot: cl_uint = scalar(id, 0x4009)
        {
            return "0000:\(hex(bus, 2)):\(hex(slot >> 3, 2)).\(String(slot & 7, radix: 16))"
        }
        return nil
    }

    static func scalar<T>(_ id: cl_device_id, _ parameter: Int32) -> T? {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { pointer.deallocate() }
        let status = clGetDeviceInfo(id, cl_device_info(parameter), MemoryLayout<T>.size, pointer, nil)
        return status == CL_SUCCESS ? pointer.pointee : nil
    }

    static func deviceString(_ id: cl_device_id, _ parameter: Int32) -> String {
        string { clGetDeviceInfo(id, cl_device_info(parameter), $0, $1, $2) }
    }

    static func platformString(_ id: cl_platform_id, _ parameter: cl_platform_info) -> String {
        string { clGetPlatformInfo(id, parameter, $0, $1, $2) }
    }

    static func string(_ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int) -> String {
        var size = 0
        guard query(0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard bytes.withUnsafeMutableBytes({ query(size, $0.baseAddress, nil) }) == CL_SUCCESS else { return "" }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: " ")
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
