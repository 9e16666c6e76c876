import ArcaCrypto
import ArcaMath
import ArcaOpenCL
import Foundation
import Testing
@testable import ArcaAccel

/// Programs built from source and cached on disk, or loaded from binaries PoCL itself produced.
@Suite("Program cache and prebuilt binaries", .serialized)
struct ProgramLoaderTests {
    func temporary() throws -> String {
        let path = NSTemporaryDirectory() + "arca-programs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func forward(_ ntt: OpenCLNTT, _ input: [UInt64]) throws -> [UInt64] { var v = input; try ntt.forward(&v); return v }

    @Test func builtOnceThenLoadedFromTheCache() throws {
        let cache = try temporary()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let plans = [NTTPlan(degree: 1024, modulus: Modulus.nttPrimes(bits: 58, degree: 1024, count: 1)[0])]
        let input = (0..<2048).map { _ in UInt64.random(in: 0..<plans[0].modulus.value) }
        let loader = ProgramLoader(cacheDirectory: cache)
        let first = try OpenCLNTT(context: OpenCLNTTTests.firstDevice(), plans: plans, loader: loader)
        #expect(first.origin == .built)
        let all = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(all.contains(WorkGroupSizes.fileName), "the tuned work-group sizes are kept beside the binaries")
        let files = all.filter { $0 != WorkGroupSizes.fileName }
        #expect(files.count == 1 && files[0].hasPrefix("ntt-") && files[0].hasSuffix(".bin"))
        let second = try OpenCLNTT(context: OpenCLNTTTests.firstDevice(), plans: plans, loader: loader)
        #expect(second.origin == .cached)
        #expect(try forward(first, input) == forward(second, input))

        // A damaged cache file is rebuilt, not trusted.
        try Data("not a binary".utf8).write(to: URL(fileURLWithPath: cache + "/" + files[0]))
        let third = try OpenCLNTT(context: OpenCLNTTTests.firstDevice(), plans: plans, loader: loader)
        #expect(third.origin == .built)
        #expect(try forward(third, input) == forward(first, input))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.contains(".tmp") }.isEmpty)
    }

    @Test func prebuiltBinariesWithoutAnySource() throws {
        let prebuilt = try temporary()
        defer { try? FileManager.default.removeItem(atPath: prebuilt) }
        let context = try OpenCLNTTTests.firstDevice()
        for name in ["ntt", "modexp"] {
            let program = try ProgramLoader().load(name, context: context).program
            try Data(try program.binary()).write(to: URL(fileURLWithPath: "\(prebuilt)/\(name).bin"))
        }
        // As on an FPGA board: only the binaries, no kernel sources at all.
        let loader = ProgramLoader(sourceDirectory: "/nonexistent", prebuiltDirectory: prebuilt)
        let plans = [NTTPlan(degree: 2048, modulus: Modulus.nttPrimes(bits: 60, degree: 2048, count: 1)[0])]
        let ntt = try OpenCLNTT(context: context, plans: plans, loader: loader)
        #expect(ntt.origin == .prebuilt)
        let input = (0..<2048).map { _ in UInt64.random(in: 0..<plans[0].modulus.value) }
        var expected = input
        plans[0].forward(&expected)
        #expect(try forward(ntt, input) == expected)
        let modexp = try OpenCLModExp(context: context, loader: loader)
        #expect(modexp.origin == .prebuilt)
        let modulus = try BigNumber(randomBits: 1024, odd: true), base = try BigNumber(randomBelow: modulus), exponent = try BigNumber(randomBits: 100)
        #expect(try modexp.run(bases: [base], exponents: [exponent], modulus: modulus) == [BigNumber.modExpConstantTime(base, exponent, modulus)])
        #expect(throws: OpenCLError.self) { try ProgramLoader(prebuiltDirectory: prebuilt + "/missing").load("ntt", context: context) }
    }
}
