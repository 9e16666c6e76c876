import ArcaCrypto
import ArcaExecutors
import ArcaMath
import ArcaOpenCL
import Foundation
import Synchronization

/// A device that takes the two hot operations in batches. Results are bit-identical on every device.
public protocol ComputeDevice: AnyObject, Sendable {
    var id: String { get }
    /// Whether the device takes `operation` at `size`: the NTT degree, or the modexp modulus bits.
    func supports(_ operation: DeviceRegistry.Operation, size: Int) -> Bool
    /// Forward (natural → bit-reversed) or inverse negacyclic NTT of `values`: whole polynomials of
    /// `plans[0].degree` coefficients, polynomial p in limb p % plans.count.
    func ntt(_ values: inout [UInt64], plans: [NTTPlan], inverse: Bool) async throws
    /// base_i^exponent_i mod modulus (one shared exponent or one per base); odd modulus.
    func modExp(bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber) async throws -> [BigNumber]
}

/// The CPU fallback: ArcaMath's NTT and OpenSSL's `BN_mod_exp_mont_consttime`, spread over the NUMA
/// executors (every allowed core) when a pool is given, else run on the caller's thread.
public final class CPUDevice: ComputeDevice {
    public let id = "cpu"
    let pool: ExecutorPool?
    /// Every NTT degree ``NTTPlan`` accepts (2 … 2^17) and every odd modulus OpenSSL takes.
    public func supports(_ operation: DeviceRegistry.Operation, size: Int) -> Bool {
        operation == .modexp ? size >= 2 : size >= 2 && size <= 1 << 17 && size & (size - 1) == 0
    }
    public init(pool: ExecutorPool?) { self.pool = pool }

    public func ntt(_ values: inout [UInt64], plans: [NTTPlan], inverse: Bool) async throws {
        let degree = plans[0].degree
        let polynomials = values.count / degree
        let chunks = chunkCount(polynomials)
        let input = values
        let pieces = try await parallel(chunks) { chunk -> [UInt64] in
            let range = (polynomials * chunk / chunks)..<(polynomials * (chunk + 1) / chunks)
            var part = Array(input[(range.lowerBound * degree)..<(range.upperBound * degree)])
            part.withUnsafeMutableBufferPointer { all in
                for (offset, p) in range.enumerated() {
                    let slice = UnsafeMutableBufferPointer(rebasing: all[(offset * degree)..<((offset + 1) * degree)])
                    if inverse { plans[p % plans.count].inverse(slice) } else { plans[p % plans.count].forward(slice) }
                }
            }
            return part
        }
        values = pieces.flatMap { $0 }
    }

    public func modExp(bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber) async throws -> [BigNumber] {
        let chunks = chunkCount(bases.count)
        return try await parallel(chunks) { chunk -> [BigNumber] in
            let range = (bases.count * chunk / chunks)..<(bases.count * (chunk + 1) / chunks)
            return try range.map {
                try BigNumber.modExpConstantTime(
                    bases[$0], exponents.count == 1 ? exponents[0] : exponents[$0], modulus)
            }
        }.flatMap { $0 }
    }

    /// How many pieces to cut a batch of `items` into: two per executor thread, never more than the
    /// executors' queues hold (so `when_full = "reject"` never turns away a lone batch).
    func chunkCount(_ items: Int) -> Int {
        guard let pool, !pool.executors.isEmpty else { return 1 }
        let threads = pool.executors.reduce(0) { $0 + $1.threads }
        let room = pool.executors.reduce(0) { $0 + $1.capacity }
        return max(1, min(items, threads * 2, room))
    }

    /// Runs `chunks` pieces of work on the CPU-class executors (or inline) and returns them in order.
    func parallel<T: Sendable>(_ chunks: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
        guard let pool else { return try (0..<chunks).map(body) }
        return try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for chunk in 0..<chunks { group.addTask { (chunk, try await pool.submit(.cpu) { _ in try body(chunk) }) } }
            var results = [T?](repeating: nil, count: chunks)
            for try await (index, value) in group { results[index] = value }
            return results.map { $0! }
        }
    }
}

/// An OpenCL device serving both operations, with its programs built once per device.
public final class OpenCLComputeDevice: ComputeDevice, @unchecked Sendable {
    public let id: String
    let context: OpenCLContext
    let lock = NSLock()  // one batch at a time on the device's in-order queue
    var nttPlans: [[UInt64]: OpenCLNTT] = [:]
    var modexpProgram: OpenCLModExp?
    /// Where the next program built for this device comes from.
    public var loader: ProgramLoader {
        get { lock.withLock { programLoader } }
        set { lock.withLock { programLoader = newValue } }
    }
    var programLoader: ProgramLoader
    /// How each program was obtained (`ntt`, `modexp` → built, cached, prebuilt).
    public var programOrigins: [String: ProgramLoader.Origin] { lock.withLock { origins } }
    var origins: [String: ProgramLoader.Origin] = [:]
    /// How much device memory one batch may take (default: the device's own limits); a larger batch
    /// runs on the CPU (``DeviceMemoryError``).
    public var memoryLimits: DeviceMemoryLimits {
        get { lock.withLock { limits } }
        set { lock.withLock { limits = newValue } }
    }
    var limits: DeviceMemoryLimits
    /// The work-group size of the last program used per operation (`ntt`, `modexp`; 0: the driver's choice).
    public var workGroupSizes: [String: Int] { lock.withLock { groupSizes } }
    var groupSizes: [String: Int] = [:]

    /// NTT degrees 2^10 … 2^17 (the kernels' range); modexp moduli of 1024 … 8192 bits.
    public func supports(_ operation: DeviceRegistry.Operation, size: Int) -> Bool {
        switch operation {
        case .ntt: return size >= 1 << 10 && size <= 1 << 17 && size & (size - 1) == 0
        case .modexp: return size >= 1024 && size <= 8192
        }
    }

    public init(id: String, platformIndex: Int, deviceIndex: Int, loader: ProgramLoader = ProgramLoader()) throws {
        self.id = id
        self.programLoader = loader
        context = try OpenCLContext(platformIndex: platformIndex, deviceIndex: deviceIndex)
        limits = DeviceMemoryLimits(context)
    }

    public func ntt(_ values: inout [UInt64], plans: [NTTPlan], inverse: Bool) async throws {
        try lock.withLock {
            let key = [UInt64(plans[0].degree)] + plans.map(\.modulus.value)
            let ntt: OpenCLNTT
            if let cached = nttPlans[key] {
                ntt = cached
            } else {
                ntt = try OpenCLNTT(context: context, plans: plans, loader: programLoader); nttPlans[key] = ntt;
                origins["ntt"] = ntt.origin
            }
            groupSizes["ntt"] = ntt.workGroupSize
            if inverse { try ntt.inverse(&values, limits: limits) } else { try ntt.forward(&values, limits: limits) }
        }
    }

    /// `mul_hi` on the device for each pair (through the NTT program of `plans`).
    public func multiplyHigh(_ a: [UInt64], _ b: [UInt64], plans: [NTTPlan]) throws -> [UInt64] {
        try lock.withLock {
            let key = [UInt64(plans[0].degree)] + plans.map(\.modulus.value)
            let ntt = try nttPlans[key] ?? OpenCLNTT(context: context, plans: plans, loader: programLoader)
            nttPlans[key] = ntt
            return try ntt.multiplyHigh(a, b)
        }
    }

    public func modExp(bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber) async throws -> [BigNumber] {
        try lock.withLock {
            let program = try modexpProgram ?? OpenCLModExp(context: context, loader: programLoader)
            modexpProgram = program
            origins["modexp"] = program.origin
            groupSizes["modexp"] = program.workGroupSize
            return try program.run(bases: bases, exponents: exponents, modulus: modulus, limits: limits)
        }
    }
}
