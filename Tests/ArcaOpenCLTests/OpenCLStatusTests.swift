import ArcaOpenCL
import Testing

/// ``OpenCLStatus``: each named status against its number in `CL/cl.h` (OpenCL 1.2 §A) and
/// `CL/cl_ext.h`, typed here independently of the wrapper's table.
@Suite("OpenCL status naming")
struct OpenCLStatusTests {
    /// `#define` values from Khronos' `CL/cl.h` and `CL/cl_ext.h` (`CL_PLATFORM_NOT_FOUND_KHR`).
    static let header: [String: Int32] = [
        "CL_SUCCESS": 0, "CL_DEVICE_NOT_FOUND": -1, "CL_DEVICE_NOT_AVAILABLE": -2, "CL_COMPILER_NOT_AVAILABLE": -3,
        "CL_MEM_OBJECT_ALLOCATION_FAILURE": -4, "CL_OUT_OF_RESOURCES": -5, "CL_OUT_OF_HOST_MEMORY": -6,
        "CL_BUILD_PROGRAM_FAILURE": -11, "CL_INVALID_VALUE": -30, "CL_INVALID_PLATFORM": -32,
        "CL_INVALID_DEVICE": -33, "CL_INVALID_COMMAND_QUEUE": -36, "CL_INVALID_BINARY": -42,
        "CL_INVALID_BUILD_OPTIONS": -43, "CL_INVALID_PROGRAM_EXECUTABLE": -45, "CL_INVALID_KERNEL_NAME": -46,
        "CL_INVALID_KERNEL_ARGS": -52, "CL_INVALID_WORK_GROUP_SIZE": -54, "CL_INVALID_WORK_ITEM_SIZE": -55,
        "CL_INVALID_BUFFER_SIZE": -61, "CL_INVALID_GLOBAL_WORK_SIZE": -63, "CL_PLATFORM_NOT_FOUND_KHR": -1001,
    ]

    @Test("every named status maps to its CL_* name and back", arguments: OpenCLStatus.named.map(\.status))
    func nameRoundTrip(_ status: OpenCLStatus) throws {
        let name = try #require(status.name)
        #expect(name.hasPrefix("CL_"))
        #expect(Self.header[name] == status.rawValue, "\(name) is \(status.rawValue) in the wrapper")
        #expect(OpenCLStatus(name: name) == status)
        #expect(OpenCLStatus(rawValue: status.rawValue) == status)
        #expect(status.description == name)
    }

    @Test("the table names each status once, and every status in the header")
    func tableIsComplete() {
        #expect(Set(OpenCLStatus.named.map(\.status)).count == OpenCLStatus.named.count)
        #expect(Set(OpenCLStatus.named.map(\.name)) == Set(Self.header.keys))
    }

    @Test("the statics the wrapper acts on carry their numbers")
    func statics() {
        #expect(OpenCLStatus.invalidBuildOptions.rawValue == -43)
        #expect(OpenCLStatus.buildProgramFailure.rawValue == -11)
        #expect(OpenCLStatus.platformNotFoundKHR.rawValue == -1001)
        #expect(OpenCLError.invalidBufferSize == .invalidBufferSize)
        #expect(OpenCLError.platformNotFound == .platformNotFoundKHR)
    }

    @Test("an unknown status prints as its number", arguments: [Int32(-9999), -1002, -70, 1])
    func unknown(_ raw: Int32) {
        let status = OpenCLStatus(rawValue: raw)
        #expect(status.name == nil)
        #expect(status.description == String(raw))
        let error = OpenCLError(status: raw, function: "clFrobnicate", context: "device 0")
        #expect(error.statusName == String(raw))
        #expect(error.description == "clFrobnicate returned status \(raw) for device 0")
    }

    @Test("an unknown name maps to no status", arguments: ["CL_NO_SUCH_STATUS", "", "cl_success", "-43"])
    func unknownName(_ name: String) {
        #expect(OpenCLStatus(name: name) == nil)
    }

    @Test("an error names its status, number, call and context")
    func errorDescription() {
        let error = OpenCLError(status: .invalidBuildOptions, function: "clBuildProgram", context: "pthread")
        #expect(error.description == "clBuildProgram returned CL_INVALID_BUILD_OPTIONS (-43) for pthread")
        #expect(error == OpenCLError(status: -43, function: "clBuildProgram", context: "pthread"))
        #expect(OpenCLError(status: .invalidWorkItemSize, function: "f", context: "c").refusesWorkGroupSize)
        #expect(!OpenCLError(status: .invalidValue, function: "f", context: "c").refusesWorkGroupSize)
    }
}
