import COpenCL
import Synchronization

/// A context and in-order command queue on one OpenCL device, found by its platform and device
/// positions (``OpenCLDeviceInfo/index``). Owns the C handles; releases them in `deinit`.
/// - Warning: use from one thread at a time.
public final class OpenCLContext: @unchecked Sendable {
    let device: cl_device_id
    let context: cl_context
    let queue: cl_command_queue
    public let deviceName: String
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE`: the largest single buffer the device takes, in bytes.
    public let maxAllocationBytes: UInt64
    /// `CL_DEVICE_GLOBAL_MEM_SIZE`: the device's global memory, in bytes.
    public let globalMemoryBytes: UInt64
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE`: the most work-items in one work-group, for any kernel.
    public let maxWorkGroupSize: Int

    public init(platformIndex: Int, deviceIndex: Int) throws {
        let (device, name) = try OpenCLDiscovery.lock.withLock { _ -> (cl_device_id, String) in
            OpenCLDiscovery.excludeHwlocOpenCLPlugin()
            var count: cl_uint = 0
            try check(clGetPlatformIDs(0, nil, &count), "clGetPlatformIDs", "the ICD loader")
            var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
            try check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs", "the ICD loader")
            guard platformIndex < platforms.count, let platform = platforms[platformIndex] else {
                throw OpenCLError(
                    status: CL_INVALID_PLATFORM, function: "clGetPlatformIDs", context: "platform #\(platformIndex)")
            }
            var devices = [cl_device_id?](repeating: nil, count: deviceIndex + 1)
            var found: cl_uint = 0
            try check(
                clGetDeviceIDs(
                    platform, cl_device_type(CL_DEVICE_TYPE_ALL), cl_uint(deviceIndex + 1), &devices, &found),
                "clGetDeviceIDs", "platform #\(platformIndex)")
            guard deviceIndex < Int(found), let device = devices[deviceIndex] else {
                throw OpenCLError(
                    status: CL_DEVICE_NOT_FOUND, function: "clGetDeviceIDs", context: "device #\(deviceIndex)")
            }
            return (device, OpenCLDiscovery.deviceString(device, CL_DEVICE_NAME))
        }
        self.device = device
        self.deviceName = name
        maxAllocationBytes = UInt64((OpenCLDiscovery.scalar(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE) as cl_ulong?) ?? 0)
        globalMemoryBytes = UInt64((OpenCLDiscovery.scalar(device, CL_DEVICE_GLOBAL_MEM_SIZE) as cl_ulong?) ?? 0)
        maxWorkGroupSize = OpenCLDiscovery.scalar(device, CL_DEVICE_MAX_WORK_GROUP_SIZE) ?? 0
        var status: cl_int = 0
        var deviceList: cl_device_id? = device
        guard let context = clCreateContext(nil, 1, &deviceList, nil, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError(status: status, function: "clCreateContext", context: name)
        }
        self.context = context
        guard let queue = clCreateCommandQueue(context, device, 0, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw OpenCLError(status: status, function: "clCreateCommandQueue", context: name)
        }
        self.queue = queue
    }

    deinit {
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// Builds `source` for this device.
    /// - Throws: ``OpenCLBuildError`` with the compiler's build log when the build fails.
    public func buildProgram(source: String, options: String = "-cl-std=CL1.2") throws -> OpenCLProgram {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            return clCreateProgramWithSource(context, 1, &pointer, nil, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw OpenCLError(status: status, function: "clCreateProgramWithSource", context: deviceName)
        }
        return try build(program, options: options, what: "\(deviceName) with options \"\(options)\"")
    }

    /// `clBuildProgram` for this device; on failure the program is released and its build log kept.
    private func build(_ program: cl_program, options: String, what: String) throws -> OpenCLProgram {
        var deviceList: cl_device_id? = device
        let built = clBuildProgram(program, 1, &deviceList, options, nil, nil)
        guard built == CL_SUCCESS else {
            let log = OpenCLDiscovery.string {
                clGetProgramBuildInfo(program, self.device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), $0, $1, $2)
            }
            clReleaseProgram(program)
            throw OpenCLBuildError(
                error: OpenCLError(status: built, function: "clBuildProgram", context: what), log: log)
        }
        return OpenCLProgram(program: program, context: self)
    }

    /// `CL_DRIVER_VERSION` of the device.
    public var driverVersion: String { OpenCLDiscovery.deviceString(device, CL_DRIVER_VERSION) }

    /// Loads a program from a binary this device (or its vendor's offline compiler) produced
    /// (`clCreateProgramWithBinary`, then `clBuildProgram`), as FPGA boards require.
    /// - Throws: ``OpenCLBuildError`` when the device refuses the binary, with the build log.
    public func buildProgram(binary: [UInt8], options: String = "") throws -> OpenCLProgram {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var deviceList: cl_device_id? = device
        let program: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var length = bytes.count
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context, 1, &deviceList, &length, &pointer, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            throw OpenCLBuildError(
                error: OpenCLError(
                    status: status != CL_SUCCESS ? status : binaryStatus,
                    function: "clCreateProgramWithBinary", context: "\(binary.count) bytes on \(deviceName)"), log: "")
        }
        return try build(program, options: options, what: "binary on \(deviceName)")
    }

    /// A device buffer holding a copy of `values`.
    public func buffer(_ values: [UInt64]) throws -> OpenCLBuffer {
        var status: cl_int = 0
        let bytes = max(1, values.count) * 8
        let memory = values.withUnsafeBytes {
            clCreateBuffer(
                context, cl_mem_flags(CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR), bytes,
                UnsafeMutableRawPointer(mutating: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)), &status)
        }
        guard let memory, status == CL_SUCCESS else { throw allocationError(status, bytes: bytes) }
        return OpenCLBuffer(memory: memory, count: values.count)
    }

    /// An uninitialised device buffer of `count` 64-bit words (scratch and outputs: no host copy).
    public func buffer(count: Int) throws -> OpenCLBuffer {
        var status: cl_int = 0
        let bytes = max(1, count) * 8
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
            status == CL_SUCCESS
        else {
            throw allocationError(status, bytes: bytes)
        }
        return OpenCLBuffer(memory: memory, count: count)
    }

    func allocationError(_ status: cl_int, bytes: Int) -> OpenCLError {
        OpenCLError(
            status: status, function: "clCreateBuffer",
            context:
                """
                \(bytes) bytes on \(deviceName) (largest allocation CL_DEVICE_MAX_MEM_ALLOC_SIZE \
                \(maxAllocationBytes) bytes, global memory \(globalMemoryBytes) bytes)
                """
        )
    }

    /// Copies `buffer` back into `values` (blocking).
    public func read(_ buffer: OpenCLBuffer, into values: inout [UInt64]) throws {
        precondition(values.count == buffer.count)
        let status = values.withUnsafeMutableBytes {
            clEnqueueReadBuffer(queue, buffer.memory, cl_bool(CL_TRUE), 0, $0.count, $0.baseAddress, 0, nil, nil)
        }
        try check(status, "clEnqueueReadBuffer", deviceName)
    }

    /// Enqueues `kernel` over `globalSize` work-items (1-D) in work-groups of `localSize` work-items;
    /// 0 lets the driver choose. OpenCL 1.2 requires `globalSize` to be a multiple of `localSize`.
    /// - Throws: ``OpenCLError``, e.g. `CL_INVALID_WORK_GROUP_SIZE` for a work-group the device or
    ///   kernel does not take.
    public func launch(_ kernel: OpenCLKernel, globalSize: Int, localSize: Int = 0) throws {
        var global = globalSize, local = localSize
        let status =
            localSize > 0
            ? clEnqueueNDRangeKernel(queue, kernel.kernel, 1, nil, &global, &local, 0, nil, nil)
            : clEnqueueNDRangeKernel(queue, kernel.kernel, 1, nil, &global, nil, 0, nil, nil)
        try check(
            status, "clEnqueueNDRangeKernel",
            """
            kernel \(kernel.name) on \(deviceName), \(globalSize) work-items in work-groups of \
            \(localSize > 0 ? String(localSize) : "the driver's choice")
            """
        )
    }

    /// `CL_KERNEL_WORK_GROUP_SIZE`: the largest work-group `kernel` can run in on this device.
    public func workGroupSizeLimit(_ kernel: OpenCLKernel) throws -> Int {
        var size = 0
        try check(
            clGetKernelWorkGroupInfo(
                kernel.kernel, device, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE), MemoryLayout<Int>.size,
                &size, nil),
            "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)", "kernel \(kernel.name) on \(deviceName)")
        return size
    }

    /// Waits for everything enqueued (`clFinish`).
    public func finish() throws { try check(clFinish(queue), "clFinish", deviceName) }
}

/// A failed program build, with the compiler's log.
public struct OpenCLBuildError: Error, CustomStringConvertible, Sendable {
    public var error: OpenCLError
    public var log: String
    public var description: String { "\(error)\n\(log)" }
}

public final class OpenCLProgram: @unchecked Sendable {
    let program: cl_program
    let context: OpenCLContext
    init(program: cl_program, context: OpenCLContext) { self.program = program; self.context = context }
    deinit { clReleaseProgram(program) }

    /// The program's binary for its device (`CL_PROGRAM_BINARIES`), to cache or ship.
    public func binary() throws -> [UInt8] {
        var size = 0
        try check(
            clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)", context.deviceName)
        var bytes = [UInt8](repeating: 0, count: size)
        let status = bytes.withUnsafeMutableBufferPointer { buffer -> cl_int in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(
                program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                &pointer, nil)
        }
        try check(status, "clGetProgramInfo(CL_PROGRAM_BINARIES)", context.deviceName)
        return bytes
    }

    public func kernel(_ name: String) throws -> OpenCLKernel {
        var status: cl_int = 0
        guard let kernel = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            throw OpenCLError(
                status: status, function: "clCreateKernel", context: "kernel \(name) on \(context.deviceName)")
        }
        return OpenCLKernel(kernel: kernel, name: name, program: self)
    }
}

public final class OpenCLKernel: @unchecked Sendable {
    let kernel: cl_kernel
    public let name: String
    let program: OpenCLProgram
    init(kernel: cl_kernel, name: String, program: OpenCLProgram) {
        self.kernel = kernel; self.name = name; self.program = program
    }
    deinit { clReleaseKernel(kernel) }

    public func set(_ index: Int, _ buffer: OpenCLBuffer) throws {
        var memory: cl_mem? = buffer.memory
        try check(
            clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem>.size, &memory), "clSetKernelArg",
            "\(name) argument \(index)")
    }
    public func set(_ index: Int, _ value: UInt64) throws {
        var value = value
        try check(clSetKernelArg(kernel, cl_uint(index), 8, &value), "clSetKernelArg", "\(name) argument \(index)")
    }
    public func set(_ index: Int, _ value: UInt32) throws {
        var value = value
        try check(clSetKernelArg(kernel, cl_uint(index), 4, &value), "clSetKernelArg", "\(name) argument \(index)")
    }
}

public final class OpenCLBuffer: @unchecked Sendable {
    let memory: cl_mem
    /// Number of 64-bit words.
    public let count: Int
    init(memory: cl_mem, count: Int) { self.memory = memory; self.count = count }
    deinit { clReleaseMemObject(memory) }
}
