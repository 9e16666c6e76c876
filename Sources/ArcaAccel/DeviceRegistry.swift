import ArcaCrypto
import ArcaMath
import ArcaOpenCL
import ArcaExecutors
import ArcaSystem
import Foundation
import Synchronization

/// The devices that serve batches, their health, and the choice of device for each batch.
///
/// An OpenCL device serves work only after its self-test (known answers for the NTT, Montgomery
/// multiplication and 64-bit `mul_hi` through modexp). A batch smaller than the device's measured
/// threshold goes to the CPU. A batch that fails on a device — a program that does not build, a
/// launch that fails, a batch beyond the device's memory, a device lost — is re-run on the CPU with
/// identical results and the reason is counted; after ``quarantineAfter`` consecutive failures the device is quarantined.
public final class DeviceRegistry: Sendable {
    public enum Operation: String, Sendable, CaseIterable { case ntt, modexp }

    public struct Health: Sendable, Equatable {
        /// `ok`, `failed-self-test` or `quarantined`.
        public var status: String
        public var since: Date?
        public var reason: String?
        /// Batches re-run on the CPU, by reason.
        public var fallbacks: [String: Int]
        /// Smallest batch (polynomials, or exponentiations) this device takes, per operation;
        /// `nil` when the device was slower than the CPU at every batch measured.
        public var thresholds: [String: Int?]
        var consecutiveFailures = 0
    }

    /// What served a batch.
    public struct Served: Sendable, Equatable {
        public var device: String
        /// Why the batch ran on the CPU instead of the chosen device, if it did.
        public var fallback: String?
    }

    public static let quarantineAfter = 3
    public let cpu: CPUDevice
    let devices: [(descriptor: DeviceDescriptor, device: (any ComputeDevice)?)]

    /// The opened OpenCL device with `id`, if it passed its self-test.
    public func device(_ id: String) -> (any ComputeDevice)? { devices.first { $0.descriptor.id == id }?.device }
    let health: Mutex<[String: Health]>

    /// Opens every OpenCL device of `inventory`, self-tests it and (when `calibrate`) measures its
    /// thresholds against the CPU.
    public init(inventory: DeviceInventory, pool: ExecutorPool?, calibrate: Bool = true, loader: ProgramLoader = ProgramLoader()) async {
        cpu = CPUDevice(pool: pool)
        var devices: [(DeviceDescriptor, (any ComputeDevice)?)] = []
        var health: [String: Health] = [:]
        for descriptor in inventory.devices where descriptor.backend == .opencl {
            var record = Health(status: "ok", since: Date(), reason: nil, fallbacks: [:], thresholds: [:])
            var device: (any ComputeDevice)?
            do {
                guard let index = descriptor.openCLIndex else { throw SelfTestError("no OpenCL position for \(descriptor.id)") }
                let opened = try OpenCLComputeDevice(id: descriptor.id, platformIndex: index.platform, deviceIndex: index.device,
                                                 loader: loader)
                // The reference runs on the caller's thread: a device's self-test must not depend on
                // the executors' queues (a small queue under "reject", every node excluded).
                try await Self.selfTest(opened, cpu: CPUDevice(pool: nil))
                device = opened
                record.thresholds = calibrate ? await Self.calibrate(opened, cpu: CPUDevice(pool: pool?.executors.isEmpty == false ? pool : nil)) : ["ntt": 1, "modexp": 1]
            } catch {
                record.status = "failed-self-test"
                record.reason = "\(error)"
            }
            devices.append((descriptor, device))
            health[descriptor.id] = record
        }
        self.devices = devices
        self.health = Mutex(health)
    }

    /// Known answers every device must give before it serves work.
    static func selfTest(_ device: any ComputeDevice, cpu: CPUDevice) async throws {
        let plans = [Modulus.nttPrimes(bits: 60, degree: 1024, count: 1)[0], Modulus.nttPrimes(bits: 50, degree: 1024, count: 1)[0]]
            .map { NTTPlan(degree: 1024, modulus: $0) }
        if let device = device as? OpenCLComputeDevice {
            // Edge products of 64-bit mul_hi: all ones, carries across the middle, small × large.
            let a: [UInt64] = [.max, .max, 0x8000_0000_0000_0000, 0xFFFF_FFFF, 1, 0x0123_4567_89AB_CDEF, 0]
            let b: [UInt64] = [.max, 2, 0x8000_0000_0000_0001, 0xFFFF_FFFF_0000_0001, .max, 0xFEDC_BA98_7654_3210, .max]
            guard try device.multiplyHigh(a, b, plans: plans) == zip(a, b).map({ $0.multipliedFullWidth(by: $1).high }) else {
                throw SelfTestError("64-bit mul_hi known answers differ")
            }
        }
        let input = (0..<4096).map { UInt64($0 * 7919 + 13) % plans[($0 / 1024) % 2].modulus.value }
        var onDevice = input, onCPU = input
        try await device.ntt(&onDevice, plans: plans, inverse: false)
        try await cpu.ntt(&onCPU, plans: plans, inverse: false)
        guard onDevice == onCPU else { throw SelfTestError("NTT known answer differs from the CPU") }
        try await device.ntt(&onDevice, plans: plans, inverse: true)
        guard onDevice == input else { throw SelfTestError("inverse NTT does not give back the input") }
        // 2^1023 + 1155 style odd modulus: Montgomery products with full 64-bit limbs exercise mul_hi.
        let modulus = BigNumber(words: [UInt64.max - 58] + [UInt64](repeating: UInt64.max, count: 15))
        let bases = [BigNumber(words: [UInt64.max, UInt64.max - 1, 12345]), BigNumber(words: [2])]
        let exponent = BigNumber(words: [0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0001])
        let expected = try bases.map { try BigNumber.modExpConstantTime($0, exponent, modulus) }
        guard try await device.modExp(bases: bases, exponents: [exponent], modulus: modulus) == expected else {
            throw SelfTestError("Montgomery modexp known answer differs from OpenSSL")
        }
    }

    /// The smallest batch at which the device beats the CPU (median of 3), per operation.
    static func calibrate(_ device: any ComputeDevice, cpu: CPUDevice) async -> [String: Int?] {
        func time(_ body: () async throws -> Void) async -> Double {
            var samples: [Double] = []
            for _ in 0..<3 {
                let start = DispatchTime.now().uptimeNanoseconds
                do { try await body() } catch { return .infinity }
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start))
            }
            return Timing.median(samples)
        }
        let plans = [NTTPlan(degree: 4096, modulus: Modulus.nttPrimes(bits: 60, degree: 4096, count: 1)[0])]
        var nttThreshold: Int?
        for batch in [1, 8, 32] {
            var values = [UInt64](repeating: 3, count: 4096 * batch)
            let onDevice = await time { try await device.ntt(&values, plans: plans, inverse: false) }
            values = [UInt64](repeating: 3, count: 4096 * batch)
            let onCPU = await time { try await cpu.ntt(&values, plans: plans, inverse: false) }
            if onDevice < onCPU { nttThreshold = batch; break }
        }
        var modexpThreshold: Int?
        guard let modulus = try? BigNumber(randomBits: 2048, odd: true) else {
            return ["ntt": nttThreshold, "modexp": nil]
        }
        for batch in [2, 16] {
            guard let bases = try? (0..<batch).map({ _ in try BigNumber(randomBelow: modulus) }),
                  let exponent = try? BigNumber(randomBits: 256) else { break }
            let onDevice = await time { _ = try await device.modExp(bases: bases, exponents: [exponent], modulus: modulus) }
            let onCPU = await time { _ = try await cpu.modExp(bases: bases, exponents: [exponent], modulus: modulus) }
            if onDevice < onCPU { modexpThreshold = batch; break }
        }
        return ["ntt": nttThreshold, "modexp": modexpThreshold]
    }

    /// The health of every OpenCL device, by id.
    public var healthByDevice: [String: Health] { health.withLock { $0 } }

    /// NTTs of a batch on `preferred` (a device id), or on the best healthy device, else the CPU.
    /// - Throws: only when the CPU cannot run it either (``ExecutorError``: no executor, a full queue
    ///   under `reject`); `values` is then unchanged.
    public func ntt(_ values: inout [UInt64], plans: [NTTPlan], inverse: Bool, preferred: String? = nil) async throws -> Served {
        let batch = values.count / plans[0].degree
        let input = values
        if let device = choose(.ntt, batch: batch, size: plans[0].degree, preferred: preferred) {
            var attempt = input
            do {
                try await device.ntt(&attempt, plans: plans, inverse: inverse)
                succeeded(device.id)
                values = attempt
                return Served(device: device.id, fallback: nil)
            } catch {
                let reason = failed(device.id, error)
                var rerun = input
                try await cpu.ntt(&rerun, plans: plans, inverse: inverse)
                values = rerun
                return Served(device: cpu.id, fallback: reason)
            }
        }
        var result = input
        try await cpu.ntt(&result, plans: plans, inverse: inverse)
        values = result
        return Served(device: cpu.id, fallback: nil)
    }

    /// Modexps of a batch, with the same choice and fallback as ``ntt(_:plans:inverse:preferred:)``.
    /// - Throws: ``CryptoError`` when the CPU cannot do it either (an even modulus).
    public func modExp(bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber, preferred: String? = nil) async throws -> ([BigNumber], Served) {
        if let device = choose(.modexp, batch: bases.count, size: modulus.bitCount, preferred: preferred) {
            do {
                let result = try await device.modExp(bases: bases, exponents: exponents, modulus: modulus)
                succeeded(device.id)
                return (result, Served(device: device.id, fallback: nil))
            } catch {
                let reason = failed(device.id, error)
                return (try await cpu.modExp(bases: bases, exponents: exponents, modulus: modulus), Served(device: cpu.id, fallback: reason))
            }
        }
        return (try await cpu.modExp(bases: bases, exponents: exponents, modulus: modulus), Served(device: cpu.id, fallback: nil))
    }

    /// The device for a batch: healthy, supporting the size, and — unless asked for by id — at or
    /// above its threshold; `nil` sends the batch to the CPU.
    func choose(_ operation: Operation, batch: Int, size: Int, preferred: String?) -> (any ComputeDevice)? {
        if preferred == cpu.id { return nil }
        let states = healthByDevice
        return devices.lazy.compactMap { entry -> (any ComputeDevice)? in
            guard let device = entry.device, preferred == nil || preferred == entry.descriptor.id,
                  device.supports(operation, size: size),
                  let state = states[entry.descriptor.id], state.status == "ok" else { return nil }
            if preferred != nil { return device }  // an explicit request (bench) skips the threshold
            guard let threshold = state.thresholds[operation.rawValue] ?? nil, batch >= threshold else { return nil }
            return device
        }.first
    }

    func succeeded(_ id: String) { health.withLock { $0[id]?.consecutiveFailures = 0 } }

    func failed(_ id: String, _ error: any Error) -> String {
        let reason: String
        switch error {
        case let build as ArcaOpenCL.OpenCLBuildError: reason = "build failed: \(build.error.statusName)"
        case is DeviceMemoryError: reason = "batch beyond device memory"
        case let cl as ArcaOpenCL.OpenCLError: reason = "\(cl.function) \(cl.statusName)"
        default: reason = "\(type(of: error))"
        }
        health.withLock { states in
            guard var state = states[id] else { return }
            state.fallbacks[reason, default: 0] += 1
            state.consecutiveFailures += 1
            if state.consecutiveFailures >= Self.quarantineAfter && state.status == "ok" {
                state.status = "quarantined"
                state.since = Date()
                state.reason = "\(state.consecutiveFailures) consecutive failures; last: \(error)"
            }
            states[id] = state
        }
        return reason
    }
}

public struct SelfTestError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = "self-test: " + description }
}
