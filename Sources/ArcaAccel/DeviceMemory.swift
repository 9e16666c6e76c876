import ArcaOpenCL

/// How much device memory one batch may take: each buffer at most `largestBuffer` bytes, all of a
/// batch's buffers together at most `total` bytes. By default the device's own limits
/// (`CL_DEVICE_MAX_MEM_ALLOC_SIZE`, `CL_DEVICE_GLOBAL_MEM_SIZE`); lower ones leave room for other users
/// of the device. A batch is checked before any of its buffers (or their host copies) is made.
public struct DeviceMemoryLimits: Sendable, Equatable {
    public var largestBuffer: UInt64
    public var total: UInt64
    public init(largestBuffer: UInt64, total: UInt64) { self.largestBuffer = largestBuffer; self.total = total }
    /// The device's own limits.
    public init(_ context: OpenCLContext) {
        self.init(largestBuffer: context.maxAllocationBytes, total: context.globalMemoryBytes)
    }

    /// - Parameters: buffers: each buffer's name and size in bytes; batch: what they are for, for the message.
    /// - Throws: ``DeviceMemoryError`` naming the first buffer over `largestBuffer`, or the total.
    func check(_ buffers: [(name: String, bytes: Int)], for batch: String, on device: String) throws {
        for buffer in buffers where UInt64(buffer.bytes) > largestBuffer {
            throw DeviceMemoryError(
                description:
                    """
                    \(batch) needs a \(buffer.bytes)-byte \(buffer.name) buffer on \(device), over its largest \
                    allocation of \(largestBuffer) bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)
                    """
            )
        }
        let sum = buffers.reduce(0) { $0 + UInt64($1.bytes) }
        if sum > total {
            throw DeviceMemoryError(
                description:
                    """
                    \(batch) needs \(sum) bytes of buffers on \(device), over its \(total) bytes of global memory \
                    (CL_DEVICE_GLOBAL_MEM_SIZE)
                    """
            )
        }
    }
}

/// A batch too large for the device's memory; it is run on the CPU instead.
public struct DeviceMemoryError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
}
