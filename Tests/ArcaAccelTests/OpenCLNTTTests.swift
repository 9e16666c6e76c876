import ArcaMath
import ArcaOpenCL
import Testing

@testable import ArcaAccel

/// Every OpenCL NTT result against the CPU reference, bit for bit, on random inputs drawn afresh
/// (HEXL's differential tests). Runs on the first OpenCL device: PoCL's CPU device here.
@Suite("OpenCL NTT against the CPU NTT", .serialized)
struct OpenCLNTTTests {
    static func firstDevice() throws -> OpenCLContext {
        let (platforms, _) = try OpenCLDiscovery.platforms()
        let platform = try #require(
            platforms.first { !$0.devices.isEmpty }, "no OpenCL device (make test installs PoCL)")
        return try OpenCLContext(platformIndex: platform.index, deviceIndex: platform.devices[0].index)
    }

    @Test(arguments: [1 << 10, 1 << 12, 1 << 14, 1 << 17])
    func bitIdenticalOverLimbsAndBatch(_ degree: Int) throws {
        let context = try Self.firstDevice()
        // Two limbs: a 60-bit and a 50-bit prime; three polynomials per limb.
        let plans = [
            Modulus.nttPrimes(bits: 60, degree: degree, count: 1)[0],
            Modulus.nttPrimes(bits: 50, degree: degree, count: 1)[0],
        ]
        .map { NTTPlan(degree: degree, modulus: $0) }
        let ntt = try OpenCLNTT(context: context, plans: plans)
        let batch = degree >= 1 << 17 ? 2 : 6
        let input: [UInt64] = (0..<batch).flatMap { p in
            (0..<degree).map { _ in UInt64.random(in: 0..<plans[p % plans.count].modulus.value) }
        }
        var device = input
        try ntt.forward(&device)
        var cpu = input
        cpu.withUnsafeMutableBufferPointer { all in
            for p in 0..<batch {
                plans[p % plans.count].forward(
                    UnsafeMutableBufferPointer(rebasing: all[(p * degree)..<((p + 1) * degree)]))
            }
        }
        #expect(device == cpu, "forward NTT differs from the CPU fallback")
        try ntt.inverse(&device)
        #expect(device == input, "inverse(forward(x)) = x on the device")
    }

    @Test func aKernelThatDoesNotCompileKeepsItsBuildLog() throws {
        let context = try Self.firstDevice()
        let error = try #require(throws: OpenCLBuildError.self) {
            try context.buildProgram(source: "__kernel void broken(__global ulong *a) { a[0] = undefined_name; }")
        }
        #expect(error.log.contains("undefined_name"))
        #expect(error.error.statusName == "CL_BUILD_PROGRAM_FAILURE")
        #expect(throws: OpenCLBuildError.self) {
            try context.buildProgram(source: "__kernel void k() {}", options: "-cl-no-such-option")
        }
    }
}
