import COpenCL

/// A `cl_int` status returned by an OpenCL call, as swift-system's `Errno` wraps `errno`: any value can
/// be held, and the ones Arca acts on or reports have names (OpenCL 1.2 §A, `CL/cl.h`, plus
/// `cl_khr_icd`'s `CL_PLATFORM_NOT_FOUND_KHR` from `CL/cl_ext.h`).
///
/// ``description`` is the `CL_*` name, or the number for a status without one here (a newer
/// specification's, or a vendor's).
public struct OpenCLStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw `cl_int`.
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `CL_SUCCESS`.
    public static let success = Self(CL_SUCCESS)
    /// `CL_DEVICE_NOT_FOUND`: no device of the requested type on the platform.
    public static let deviceNotFound = Self(CL_DEVICE_NOT_FOUND)
    /// `CL_DEVICE_NOT_AVAILABLE`.
    public static let deviceNotAvailable = Self(CL_DEVICE_NOT_AVAILABLE)
    /// `CL_COMPILER_NOT_AVAILABLE`: the platform cannot build from source.
    public static let compilerNotAvailable = Self(CL_COMPILER_NOT_AVAILABLE)
    /// `CL_MEM_OBJECT_ALLOCATION_FAILURE`.
    public static let memObjectAllocationFailure = Self(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    /// `CL_OUT_OF_RESOURCES`: the device ran out (often a kernel fault on GPUs).
    public static let outOfResources = Self(CL_OUT_OF_RESOURCES)
    /// `CL_OUT_OF_HOST_MEMORY`.
    public static let outOfHostMemory = Self(CL_OUT_OF_HOST_MEMORY)
    /// `CL_BUILD_PROGRAM_FAILURE`: the source did not compile; the build log says why.
    public static let buildProgramFailure = Self(CL_BUILD_PROGRAM_FAILURE)
    /// `CL_INVALID_VALUE`.
    public static let invalidValue = Self(CL_INVALID_VALUE)
    /// `CL_INVALID_PLATFORM`.
    public static let invalidPlatform = Self(CL_INVALID_PLATFORM)
    /// `CL_INVALID_DEVICE`.
    public static let invalidDevice = Self(CL_INVALID_DEVICE)
    /// `CL_INVALID_COMMAND_QUEUE`.
    public static let invalidCommandQueue = Self(CL_INVALID_COMMAND_QUEUE)
    /// `CL_INVALID_BINARY`: the device refuses a program binary.
    public static let invalidBinary = Self(CL_INVALID_BINARY)
    /// `CL_INVALID_BUILD_OPTIONS`: `clBuildProgram` does not take the options string.
    public static let invalidBuildOptions = Self(CL_INVALID_BUILD_OPTIONS)
    /// `CL_INVALID_PROGRAM_EXECUTABLE`: no built program for the device.
    public static let invalidProgramExecutable = Self(CL_INVALID_PROGRAM_EXECUTABLE)
    /// `CL_INVALID_KERNEL_NAME`: the program has no kernel of that name.
    public static let invalidKernelName = Self(CL_INVALID_KERNEL_NAME)
    /// `CL_INVALID_KERNEL_ARGS`: a kernel argument was not set before the launch.
    public static let invalidKernelArgs = Self(CL_INVALID_KERNEL_ARGS)
    /// `CL_INVALID_WORK_GROUP_SIZE`: a work-group size the device or kernel does not take.
    public static let invalidWorkGroupSize = Self(CL_INVALID_WORK_GROUP_SIZE)
    /// `CL_INVALID_WORK_ITEM_SIZE`: a work-group dimension over `CL_DEVICE_MAX_WORK_ITEM_SIZES`.
    public static let invalidWorkItemSize = Self(CL_INVALID_WORK_ITEM_SIZE)
    /// `CL_INVALID_BUFFER_SIZE`: a buffer of 0 bytes or over `CL_DEVICE_MAX_MEM_ALLOC_SIZE`.
    public static let invalidBufferSize = Self(CL_INVALID_BUFFER_SIZE)
    /// `CL_INVALID_GLOBAL_WORK_SIZE`.
    public static let invalidGlobalWorkSize = Self(CL_INVALID_GLOBAL_WORK_SIZE)
    /// `CL_PLATFORM_NOT_FOUND_KHR` (-1001): the ICD loader found no platform. A normal state on a machine
    /// without OpenCL drivers, not a fault.
    public static let platformNotFoundKHR = Self(-1001)

    private init(_ value: Int32) { rawValue = value }

    /// Every named status with its `CL_*` name, in `cl.h` order: the one table ``name`` and
    /// ``init(name:)`` read.
    public static let named: [(status: OpenCLStatus, name: String)] = [
        (.success, "CL_SUCCESS"),
        (.deviceNotFound, "CL_DEVICE_NOT_FOUND"),
        (.deviceNotAvailable, "CL_DEVICE_NOT_AVAILABLE"),
        (.compilerNotAvailable, "CL_COMPILER_NOT_AVAILABLE"),
        (.memObjectAllocationFailure, "CL_MEM_OBJECT_ALLOCATION_FAILURE"),
        (.outOfResources, "CL_OUT_OF_RESOURCES"),
        (.outOfHostMemory, "CL_OUT_OF_HOST_MEMORY"),
        (.buildProgramFailure, "CL_BUILD_PROGRAM_FAILURE"),
        (.invalidValue, "CL_INVALID_VALUE"),
        (.invalidPlatform, "CL_INVALID_PLATFORM"),
        (.invalidDevice, "CL_INVALID_DEVICE"),
        (.invalidCommandQueue, "CL_INVALID_COMMAND_QUEUE"),
        (.invalidBinary, "CL_INVALID_BINARY"),
        (.invalidBuildOptions, "CL_INVALID_BUILD_OPTIONS"),
        (.invalidProgramExecutable, "CL_INVALID_PROGRAM_EXECUTABLE"),
        (.invalidKernelName, "CL_INVALID_KERNEL_NAME"),
        (.invalidKernelArgs, "CL_INVALID_KERNEL_ARGS"),
        (.invalidWorkGroupSize, "CL_INVALID_WORK_GROUP_SIZE"),
        (.invalidWorkItemSize, "CL_INVALID_WORK_ITEM_SIZE"),
        (.invalidBufferSize, "CL_INVALID_BUFFER_SIZE"),
        (.invalidGlobalWorkSize, "CL_INVALID_GLOBAL_WORK_SIZE"),
        (.platformNotFoundKHR, "CL_PLATFORM_NOT_FOUND_KHR"),
    ]
    private static let names = Dictionary(uniqueKeysWithValues: named.map { ($0.status, $0.name) })
    private static let byName = Dictionary(uniqueKeysWithValues: named.map { ($0.name, $0.status) })

    /// The `CL_*` name, e.g. `CL_INVALID_BUILD_OPTIONS`; `nil` for a status not in ``named``.
    public var name: String? { Self.names[self] }

    /// The status a `CL_*` name stands for; `nil` for a name not in ``named``.
    public init?(name: String) {
        guard let status = Self.byName[name] else { return nil }
        self = status
    }

    /// The `CL_*` name, or the number (`-9999`) when the status has none here.
    public var description: String { name ?? String(rawValue) }
}
