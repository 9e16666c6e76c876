import ArcaCrypto
import ArcaMath
import ArcaOpenCL
import Foundation
import Testing
@testable import ArcaAccel

/// Work-group sizes tuned per device and kept; batches checked against the device's memory. On PoCL.
@Suite("Work-group sizes and device memory", .serialized)
struct DeviceLimitsTests {
    func temporary() throws -> String {
        let path = NSTemporaryDirectory() + "arca-limits-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func keep(_ sizes: [String: Int], in directory: String) throws {
        try JSONEncoder().encode(sizes).write(to: URL(fileURLWithPath: directory + "/" + WorkGroupSizes.fileName))
    }

    @Test func tunedSizesAreKeptPerDeviceAndUsedByLaterLoads() throws {
        let cache = try temporary()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let context = try OpenCLNTTTests.firstDevice()
        let loader = ProgramLoader(cacheDirectory: cache)
        let plans = [NTTPlan(degree: 2048, modulus: Modulus.nttPrimes(bits: 60, degree: 2048, count: 1)[0])]
        let first = try OpenCLNTT(context: context, plans: plans, loader: loader)
        let modexp = try OpenCLModExp(context: context, loader: loader)
        let kept = WorkGroupSizes.read(directory: cache)
        let nttKey = try #require(kept.keys.first { $0.contains("|ntt_forward_stage|") })
        let modexpKey = try #require(kept.keys.first { $0.contains("|modexp_fixed_window|") })
        #expect(nttKey.hasPrefix(context.deviceName + "|" + context.driverVersion + "|"))
        #expect(kept[nttKey] == first.workGroupSize && kept[modexpKey] == modexp.workGroupSize)
        #expect([0, 16, 64, 256].contains(first.workGroupSize) && [0, 1, 4, 16, 64].contains(modexp.workGroupSize))

        // Later loads use what is kept, not a fresh tuning: sizes no tuning would pick (not candidates).
        try keep([nttKey: 32, modexpKey: 2], in: cache)
        let second = try OpenCLNTT(context: context, plans: plans, loader: loader)
        #expect(second.workGroupSize == 32)
        let input = (0..<(3 * 2048)).map { _ in UInt64.random(in: 0..<plans[0].modulus.value) }
        var onDevice = input, expected = input
        try second.forward(&onDevice)
        expected.withUnsafeMutableBufferPointer { all in
            for p in 0..<3 { plans[0].forward(UnsafeMutableBufferPointer(rebasing: all[(p * 2048)..<((p + 1) * 2048)])) }
        }
        #expect(onDevice == expected)
        let modexp2 = try OpenCLModExp(context: context, loader: loader)
        #expect(modexp2.workGroupSize == 2)
        // 5 bases in work-groups of 2: the global size is rounded up and the extra work-item does nothing.
        let modulus = try BigNumber(randomBits: 1024, odd: true)
        let bases = try (0..<5).map { _ in try BigNumber(randomBelow: modulus) }, exponent = try BigNumber(randomBits: 200)
        #expect(try modexp2.run(bases: bases, exponents: [exponent], modulus: modulus) == bases.map { try BigNumber.modExpConstantTime($0, exponent, modulus) })
    }

    @Test func pocLRefusesABufferOverItsLargestAllocation() throws {
        let context = try OpenCLNTTTests.firstDevice()
        #expect(context.maxAllocationBytes > 0 && context.globalMemoryBytes >= context.maxAllocationBytes)
        // Device-only (no host copy): PoCL checks the size before allocating anything.
        let error = #expect(throws: OpenCLError.self) { try context.buffer(count: Int(context.maxAllocationBytes / 8) + 1) }
        #expect(error?.status == OpenCLError.invalidBufferSize)
        #expect(error?.description.contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE \(context.maxAllocationBytes) bytes") == true)
    }

    @Test func batchesAreCheckedAgainstTheDeviceLimitsBeforeAnyBuffer() throws {
        let context = try OpenCLNTTTests.firstDevice()
        #expect(DeviceMemoryLimits(context) == DeviceMemoryLimits(largestBuffer: context.maxAllocationBytes, total: context.globalMemoryBytes))
        let modexp = try OpenCLModExp(context: context)
        let modulus = try BigNumber(randomBits: 4096, odd: true)  // 64 limbs: (20 × 64 + 2) × 8 = 10256 scratch bytes per base
        let bases = try (0..<3).map { _ in try BigNumber(randomBelow: modulus) }
        let tight = DeviceMemoryLimits(largestBuffer: 3 * 10256 - 1, total: 1 << 30)
        let error = #expect(throws: DeviceMemoryError.self) { try modexp.run(bases: bases, exponents: [BigNumber(words: [3])], modulus: modulus, limits: tight) }
        #expect(error?.description.contains("30768-byte scratch buffer") == true, "\(error?.description ?? "")")
        let total = DeviceMemoryLimits(largestBuffer: 1 << 30, total: 3 * 10256)
        #expect(throws: DeviceMemoryError.self) { try modexp.run(bases: bases, exponents: [BigNumber(words: [3])], modulus: modulus, limits: total) }
        let roomy = DeviceMemoryLimits(largestBuffer: 3 * 10256, total: 1 << 20)
        #expect(try modexp.run(bases: bases, exponents: [BigNumber(words: [3])], modulus: modulus, limits: roomy)
                == bases.map { try BigNumber.modExpConstantTime($0, BigNumber(words: [3]), modulus) })
    }
}
