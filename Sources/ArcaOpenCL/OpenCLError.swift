import COpenCL

/// An OpenCL status that is not `CL_SUCCESS`, with the call that returned it and its context
/// (which platform, device or kernel).
public struct OpenCLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The status the call returned.
    public var status: OpenCLStatus
    /// The OpenCL function that returned it, e.g. `clGetDeviceIDs`.
    public var function: String
    /// What it was called on.
    public var context: String

    public init(status: OpenCLStatus, function: String, context: String) {
        self.status = status; self.function = function; self.context = context
    }

    /// An error from a raw `cl_int`, as the wrapper's calls return it.
    public init(status: cl_int, function: String, context: String) {
        self.init(status: OpenCLStatus(rawValue: status), function: function, context: context)
    }

    /// ``OpenCLStatus/platformNotFoundKHR``.
    public static let platformNotFound = OpenCLStatus.platformNotFoundKHR

    /// `CL_INVALID_WORK_GROUP_SIZE` or `CL_INVALID_WORK_ITEM_SIZE`: the launch's work-group size is one
    /// the device or kernel does not take.
    public var refusesWorkGroupSize: Bool { status == .invalidWorkGroupSize || status == .invalidWorkItemSize }

    /// ``OpenCLStatus/invalidBufferSize``.
    public static let invalidBufferSize = OpenCLStatus.invalidBufferSize

    /// The status's `CL_*` name, or its number when it has none (``OpenCLStatus/description``).
    public var statusName: String { status.description }

    /// E.g. `clBuildProgram returned CL_INVALID_BUILD_OPTIONS (-43) for …`, or `… returned status -9999 for …`
    /// for a status without a name.
    public var description: String {
        let what = status.name.map { "\($0) (\(status.rawValue))" } ?? "status \(status.rawValue)"
        return "\(function) returned \(what) for \(context)"
    }
}

@inline(__always)
func check(_ status: cl_int, _ function: String, _ context: @autoclosure () -> String) throws {
    guard status == CL_SUCCESS else {
        throw OpenCLError(status: status, function: function, context: context())
    }
}
