import ArcaCrypto
import ArcaMath
import ArcaTopology
import Foundation
import Testing
@testable import ArcaAccel

/// The registry on PoCL: self-test, choice of device, and every fallback re-running on the CPU with
/// the same answer.
@Suite("Device registry and fallback", .serialized)
struct DeviceRegistryTests {
    static func inventory() -> DeviceInventory { DeviceInventory.discover(topology: Topology.fallback()) }

    func plans(_ degree: Int) -> [NTTPlan] {
        [NTTPlan(degree: degree, modulus: Modulus.nttPrimes(bits: 55, degree: degree, count: 1)[0])]
    }

    func random(_ count: Int, below q: UInt64) -> [UInt64] { (0..<count).map { _ in UInt64.random(in: 0..<q) } }

    @Test func selfTestedDeviceServesWhatItIsAskedAndMatchesTheCPU() async throws {
        let registry = await DeviceRegistry(inventory: Self.inventory(), pool: nil)
        let (id, health) = try #require(registry.healthByDevice.first, "no OpenCL device")
        #expect(health.status == "ok", "\(health.reason ?? "")")
        #expect(health.thresholds.keys.sorted() == ["modexp", "ntt"])
        let plans = plans(1024)
        let input = random(4 * 1024, below: plans[0].modulus.value)
        var onDevice = input, onCPU = input
        let served = try await registry.ntt(&onDevice, plans: plans, inverse: false, preferred: id)
        #expect(served == .init(device: id, fallback: nil))
        _ = try await registry.ntt(&onCPU, plans: plans, inverse: false, preferred: "cpu")
        #expect(onDevice == onCPU)
        let modulus = try BigNumber(randomBits: 1024, odd: true)
        let bases = try (0..<3).map { _ in try BigNumber(randomBelow: modulus) }
        let (result, servedModexp) = try await registry.modExp(bases: bases, exponents: [try BigNumber(randomBits: 160)], modulus: modulus, preferred: id)
        #expect(servedModexp.device == id)
        #expect(result.count == 3)
    }

    @Test func sizesADeviceDoesNotSupportGoToTheCPUWithoutCountingAFailure() async throws {
        let registry = await DeviceRegistry(inventory: Self.inventory(), pool: nil, calibrate: false)
        let (id, _) = try #require(registry.healthByDevice.first)
        let small = plans(256)  // below the kernels' 2^10
        let input = random(256, below: small[0].modulus.value)
        var values = input, expected = input
        #expect(try await registry.ntt(&values, plans: small, inverse: false, preferred: id) == .init(device: "cpu", fallback: nil))
        small[0].forward(&expected)
        #expect(values == expected)
        let modulus = try BigNumber(randomBits: 512, odd: true)  // below 1024 bits
        let (_, served) = try await registry.modExp(bases: [BigNumber(words: [7])], exponents: [BigNumber(words: [65537])], modulus: modulus, preferred: id)
        #expect(served.device == "cpu")
        #expect(registry.healthByDevice[id]?.fallbacks.isEmpty == true)
    }

    @Test func deviceFailingItsSelfTestIsNotUsedAndSaysWhy() async throws {
        let broken = try brokenKernels()
        defer { try? FileManager.default.removeItem(atPath: broken) }
        let registry = await DeviceRegistry(inventory: Self.inventory(), pool: nil, calibrate: false, loader: ProgramLoader(sourceDirectory: broken))
        let (id, health) = try #require(registry.healthByDevice.first)
        #expect(health.status == "failed-self-test")
        #expect(health.reason?.contains("CL_BUILD_PROGRAM_FAILURE") == true && health.reason?.contains("not_a_function") == true, "the build log is kept")
        let plans = plans(1024)
        let input = random(1024, below: plans[0].modulus.value)
        var values = input, expected = input
        let served = try await registry.ntt(&values, plans: plans, inverse: false, preferred: id)
        plans[0].forward(&expected)
        #expect(served.device == "cpu" && values == expected)
    }

    /// Programs that do not build: invalid source (the build log is kept) or an invalid build option.
    enum BrokenBuild: String, CaseIterable, Sendable { case invalidSource, invalidOption }

    @Test(arguments: BrokenBuild.allCases)
    func failingBuildsFallBackWithTheSameAnswerAndQuarantine(_ broken: BrokenBuild) async throws {
        let registry = await DeviceRegistry(inventory: Self.inventory(), pool: nil, calibrate: false)
        let (id, _) = try #require(registry.healthByDevice.first)
        let device = try #require(registry.device(id) as? OpenCLComputeDevice)
        let directory = try brokenKernels()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The next program built for this device fails.
        switch broken {
        case .invalidSource: device.loader = ProgramLoader(sourceDirectory: directory)
        case .invalidOption: device.loader = ProgramLoader(buildOptions: "-cl-std=CL1.2 -cl-no-such-option")
        }
        let expectedReason = broken == .invalidSource ? "build failed: CL_BUILD_PROGRAM_FAILURE" : "build failed: CL_INVALID_BUILD_OPTIONS"
        for degree in [1024, 2048, 8192] {  // a new degree is a new program load
            let plans = plans(degree)
            let input = random(2 * degree, below: plans[0].modulus.value)
            var values = input, expected = input
            let served = try await registry.ntt(&values, plans: plans, inverse: false, preferred: id)
            #expect(served == .init(device: "cpu", fallback: expectedReason))
            expected.withUnsafeMutableBufferPointer { all in
                for p in 0..<2 { plans[0].forward(UnsafeMutableBufferPointer(rebasing: all[(p * degree)..<((p + 1) * degree)])) }
            }
            #expect(values == expected, "the CPU re-run gives the same answer")
        }
        let health = try #require(registry.healthByDevice[id])
        #expect(health.status == "quarantined" && health.since != nil)
        #expect(health.fallbacks == [expectedReason: 3])
        if broken == .invalidOption { #expect(health.reason?.contains("-cl-no-such-option") == true, "\(health.reason ?? "")") }
        // A quarantined device gets no more work, even when asked for.
        var values = random(4096, below: plans(4096)[0].modulus.value)
        #expect(try await registry.ntt(&values, plans: plans(4096), inverse: false, preferred: id).device == "cpu")
    }

    /// A kept work-group size the device does not take (twice its CL_DEVICE_MAX_WORK_GROUP_SIZE) makes
    /// the real launch fail; the batch runs on the CPU, the size is forgotten, and the device is
    /// quarantined after repeated failures.
    @Test func failingLaunchFallsBackWithTheSameAnswerAndQuarantines() async throws {
        let cache = NSTemporaryDirectory() + "arca-launch-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let inventory = Self.inventory()
        let registry = await DeviceRegistry(inventory: inventory, pool: nil, calibrate: false, loader: ProgramLoader(cacheDirectory: cache))
        let (id, health) = try #require(registry.healthByDevice.first)
        #expect(health.status == "ok", "\(health.reason ?? "")")
        let maximum = try #require(inventory.devices.first { $0.id == id }?.maxWorkGroupSize)
        // The self-test tuned both programs and kept their sizes in the cache directory.
        let tuned = WorkGroupSizes.read(directory: cache)
        #expect(tuned.keys.contains { $0.contains("|ntt_forward_stage|") } && tuned.keys.contains { $0.contains("|modexp_fixed_window|") }, "\(tuned)")
        let invalid = 2 * maximum
        let data = try JSONEncoder().encode(tuned.mapValues { _ in invalid })
        try data.write(to: URL(fileURLWithPath: cache + "/" + WorkGroupSizes.fileName))

        let degree = 2 * invalid  // n/2 butterflies per polynomial: whole work-groups of `invalid`
        try #require(degree <= 1 << 17)
        let plans = plans(degree)
        for _ in 0..<DeviceRegistry.quarantineAfter {
            let input = random(degree, below: plans[0].modulus.value)
            var values = input, expected = input
            let served = try await registry.ntt(&values, plans: plans, inverse: false, preferred: id)
            #expect(served == .init(device: "cpu", fallback: "clEnqueueNDRangeKernel CL_INVALID_WORK_GROUP_SIZE"))
            plans[0].forward(&expected)
            #expect(values == expected, "the CPU re-run gives the same answer")
        }
        let after = try #require(registry.healthByDevice[id])
        #expect(after.status == "quarantined" && after.since != nil)
        #expect(after.fallbacks == ["clEnqueueNDRangeKernel CL_INVALID_WORK_GROUP_SIZE": 3])
        #expect(after.reason?.contains("work-groups of \(invalid)") == true, "\(after.reason ?? "")")
        // The refused size is forgotten: the next start tunes the stage kernels again.
        #expect(!WorkGroupSizes.read(directory: cache).keys.contains { $0.contains("|ntt_forward_stage|") })
    }

    /// A batch whose buffers exceed the device's memory limits is refused before any buffer (or host
    /// copy) is made and runs on the CPU. The limit is lowered to 16 KiB per buffer so that the test
    /// reaches it without gigabytes of input; PoCL's own refusal is in ``OpenCLNTTTests``.
    @Test func batchBeyondDeviceMemoryFallsBackWithTheSameAnswerAndQuarantines() async throws {
        let registry = await DeviceRegistry(inventory: Self.inventory(), pool: nil, calibrate: false)
        let (id, _) = try #require(registry.healthByDevice.first)
        let device = try #require(registry.device(id) as? OpenCLComputeDevice)
        device.memoryLimits.largestBuffer = 16 << 10
        let modulus = try BigNumber(randomBits: 2048, odd: true)  // scratch: 4 × (20 × 32 + 2) × 8 = 20544 bytes
        for _ in 0..<2 {
            let bases = try (0..<4).map { _ in try BigNumber(randomBelow: modulus) }
            let exponents = try (0..<4).map { _ in try BigNumber(randomBits: 256) }
            let (result, served) = try await registry.modExp(bases: bases, exponents: exponents, modulus: modulus, preferred: id)
            #expect(served == .init(device: "cpu", fallback: "batch beyond device memory"))
            #expect(try result == zip(bases, exponents).map { try BigNumber.modExpConstantTime($0, $1, modulus) })
        }
        let plans = plans(1024)  // 4 polynomials: 32 KiB of coefficients
        let input = random(4 * 1024, below: plans[0].modulus.value)
        var values = input, expected = input
        #expect(try await registry.ntt(&values, plans: plans, inverse: false, preferred: id) == .init(device: "cpu", fallback: "batch beyond device memory"))
        _ = try await registry.ntt(&expected, plans: plans, inverse: false, preferred: "cpu")
        #expect(values == expected)
        let health = try #require(registry.healthByDevice[id])
        #expect(health.status == "quarantined")
        #expect(health.fallbacks == ["batch beyond device memory": 3])
        #expect(health.reason?.contains("largest allocation of 16384 bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)") == true, "\(health.reason ?? "")")
    }

    func brokenKernels() throws -> String {
        let directory = NSTemporaryDirectory() + "arca-broken-kernels-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["ntt.cl", "modexp.cl"] {
            try "__kernel void k(__global ulong *a) { a[0] = not_a_function(a[1]); }".write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        return directory
    }
}
