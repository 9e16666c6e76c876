import ArcaOpenCL
import Testing

/// The real stack: the ICD loader, PoCL's CPU device (`pocl-opencl-icd`), a program built from source, a
/// kernel run on it. Needs at least one OpenCL device, as `make test` does.
@Suite("OpenCL through the ICD loader (PoCL)", .serialized)
struct PoCLSmokeTests {
    static let source = """
        __kernel void triple_plus(__global ulong *values, ulong step) {
            size_t i = get_global_id(0);
            values[i] = values[i] * 3 + step;
        }
        """

    /// The first device of the first platform that has one.
    static func firstDevice() throws -> (OpenCLPlatformInfo, OpenCLDeviceInfo) {
        let (platforms, _) = try OpenCLDiscovery.platforms()
        let platform = try #require(platforms.first { !$0.devices.isEmpty }, "no OpenCL device behind the ICD loader")
        return (platform, platform.devices[0])
    }

    @Test("discovery finds a platform with a device that reports itself")
    func discovery() throws {
        let (platforms, failures) = try OpenCLDiscovery.platforms()
        #expect(failures.isEmpty, "\(failures)")
        #expect(!platforms.isEmpty)
        let (platform, device) = try Self.firstDevice()
        #expect(!platform.name.isEmpty && platform.version.hasPrefix("OpenCL "))
        #expect(!device.name.isEmpty)
        #expect(device.computeUnits > 0 && device.maxWorkGroupSize > 0 && device.globalMemoryBytes > 0)
        #expect(device.openCLCVersion.hasPrefix("OpenCL C "))
    }

    @Test("a tiny kernel builds, runs and gives the host's answer")
    func runKernel() throws {
        let (platform, device) = try Self.firstDevice()
        let context = try OpenCLContext(platformIndex: platform.index, deviceIndex: device.index)
        let kernel = try context.buildProgram(source: Self.source).kernel("triple_plus")
        let input = (0..<1024).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
        let buffer = try context.buffer(input)
        try kernel.set(0, buffer)
        try kernel.set(1, UInt64(7))
        try context.launch(kernel, globalSize: input.count)
        try context.finish()
        var output = [UInt64](repeating: 0, count: input.count)
        try context.read(buffer, into: &output)
        #expect(output == input.map { $0 &* 3 &+ 7 })
    }

    @Test("an invalid build option gives CL_INVALID_BUILD_OPTIONS, with the build log")
    func invalidBuildOption() throws {
        let (platform, device) = try Self.firstDevice()
        let context = try OpenCLContext(platformIndex: platform.index, deviceIndex: device.index)
        let error = #expect(throws: OpenCLBuildError.self) {
            try context.buildProgram(source: Self.source, options: "-cl-no-such-option")
        }
        #expect(error?.error.status == .invalidBuildOptions)
        #expect(error?.error.statusName == "CL_INVALID_BUILD_OPTIONS")
        #expect(error?.error.function == "clBuildProgram")
        #expect(error?.error.context.contains("-cl-no-such-option") == true)
        // PoCL's log: "Invalid build option: -cl-no-such-option".
        #expect(error?.log.contains("-cl-no-such-option") == true, "log: \(error?.log ?? "none")")
    }

    @Test("source that does not compile gives CL_BUILD_PROGRAM_FAILURE, with the compiler's log")
    func badSource() throws {
        let (platform, device) = try Self.firstDevice()
        let context = try OpenCLContext(platformIndex: platform.index, deviceIndex: device.index)
        let error = #expect(throws: OpenCLBuildError.self) {
            try context.buildProgram(source: "__kernel void broken(__global ulong *v) { v[0] = undeclared; }")
        }
        #expect(error?.error.status == .buildProgramFailure)
        #expect(error?.log.contains("undeclared") == true)
    }

    @Test("a kernel name the program lacks gives CL_INVALID_KERNEL_NAME")
    func missingKernel() throws {
        let (platform, device) = try Self.firstDevice()
        let context = try OpenCLContext(platformIndex: platform.index, deviceIndex: device.index)
        let program = try context.buildProgram(source: Self.source)
        let error = #expect(throws: OpenCLError.self) { try program.kernel("no_such_kernel") }
        #expect(error?.status == .invalidKernelName)
    }
}
