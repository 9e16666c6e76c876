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
        let modulus = BigNumber(randomBits: 1024, odd: true)
        let bases = (0..<3).map { _ in BigNumber(randomBelow: modulus) }
        let (result, servedModexp) = try await registry.modExp(bases: bases, exponents: [BigNumber(randomBits: 160)], modulus: modulus, preferred: id)
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
        let modulus = BigNumber(randomBits: 512, odd: true)  // below 1024 bits
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

    @Test func failingBuildsFallBackWithTheSameAnswerAndQuarantine() async throws {
        let registry = await DeviceRegistry(inventory: Self.inventory(), pool: nil, calibrate: false)
        let (id, _) = try #require(registry.healthByDevice.first)
        let device = try #require(registry.device(id) as? OpenCLComputeDevice)
        let broken = try brokenKernels()
        defer { try? FileManager.default.removeItem(atPath: broken) }
        device.loader = ProgramLoader(sourceDirectory: broken)  // the next program built for this device fails
        for (attempt, degree) in [1024, 2048, 8192].enumerated() {
            let plans = plans(degree)
            let input = random(2 * degree, below: plans[0].modulus.value)
            var values = input, expected = input
            let served = try await registry.ntt(&values, plans: plans, inverse: false, preferred: attempt < 3 ? id : nil)
            #expect(served.device == "cpu" && served.fallback?.contains("build failed") == true)
            expected.withUnsafeMutableBufferPointer { all in
                for p in 0..<2 { plans[0].forward(UnsafeMutableBufferPointer(rebasing: all[(p * degree)..<((p + 1) * degree)])) }
            }
            #expect(values == expected, "the CPU re-run gives the same answer")
        }
        let health = try #require(registry.healthByDevice[id])
        #expect(health.status == "quarantined" && health.since != nil)
        #expect(health.fallbacks["build failed: CL_BUILD_PROGRAM_FAILURE"] == 3)
        // A quarantined device gets no more work, even when asked for.
        var values = random(4096, below: plans(4096)[0].modulus.value)
        #expect(try await registry.ntt(&values, plans: plans(4096), inverse: false, preferred: id).device == "cpu")
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
