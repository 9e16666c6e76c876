import COpenCL

/// An OpenCL status that is not `CL_SUCCESS`, with the call that returned it and its context
/// (which platform, device or kernel). Codes are OpenCL 1.2 §A plus `cl_khr_icd`'s -1001.
public struct OpenCLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The raw `cl_int` status.
    public var status: Int32
    /// The OpenCL function that returned it, e.g. `clGetDeviceIDs`.
    public var function: String
    /// What it was called on.
    public var context: String

    public init(status: Int32, function: String, context: String) {
        self.status = status; self.function = function; self.context = context
    }

    /// `CL_PLATFORM_NOT_FOUND_KHR`: the ICD loader found no platform. A normal state on a machine
    /// without OpenCL drivers, not a fault.
    public static let platformNotFound: Int32 = -1001

    /// `CL_INVALID_WORK_GROUP_SIZE` or `CL_INVALID_WORK_ITEM_SIZE`: the launch's work-group size is one
    /// the device or kernel does not take.
    public var refusesWorkGroupSize: Bool { status == CL_INVALID_WORK_GROUP_SIZE || status == CL_INVALID_WORK_ITEM_SIZE }

    /// `CL_INVALID_BUFFER_SIZE`: a buffer of 0 bytes or over `CL_DEVICE_MAX_MEM_ALLOC_SIZE`.
    public static let invalidBufferSize: Int32 = CL_INVALID_BUFFER_SIZE

    public var statusName: String {
        switch status {
        case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND"
        case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE"
        case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE"
        case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE"
        case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES"
        case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY"
        case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE"
        case CL_INVALID_VALUE: return "CL_INVALID_VALUE"
        case CL_INVALID_PLATFORM: return "CL_INVALID_PLATFORM"
        case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE"
        case CL_INVALID_BINARY: return "CL_INVALID_BINARY"
        case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME"
        case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE"
        case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE"
        case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE"
        case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE"
        case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS"
        case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS"
        case CL_INVALID_PROGRAM_EXECUTABLE: return "CL_INVALID_PROGRAM_EXECUTABLE"
        case CL_INVALID_COMMAND_QUEUE: return "CL_INVALID_COMMAND_QUEUE"
        case Self.platformNotFound: return "CL_PLATFORM_NOT_FOUND_KHR"
        default: return "OpenCL status"
        }
    }

    public var description: String { "\(function) returned \(statusName) (\(status)) for \(context)" }
}

@inline(__always)
func check(_ status: cl_int, _ function: String, _ context: @autoclosure () -> String) throws {
    guard status == CL_SUCCESS else {
        throw OpenCLError(status: status, function: function, context: context())
    }
}
