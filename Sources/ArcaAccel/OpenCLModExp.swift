import ArcaCrypto
import ArcaOpenCL

/// Batched modular exponentiation on an OpenCL device (`Kernels/modexp.cl`), bit-identical to
/// OpenSSL's `BN_mod_exp_mont_consttime`.
///
/// Shapes: an odd modulus of 1024 to 8192 bits; bases < modulus; one exponent for the whole batch or
/// one per base. Montgomery multiplication with 64-bit limbs and fixed 4-bit windows whose memory
/// access does not depend on the exponent.
public final class OpenCLModExp: @unchecked Sendable {
    let context: OpenCLContext
    let kernel: OpenCLKernel

    public let origin: ProgramLoader.Origin
    /// Work-items per work-group (0: the driver's choice), tuned for this device at first use and kept
    /// (``WorkGroupSizes``).
    public private(set) var workGroupSize = 0
    let loader: ProgramLoader
    let fingerprint: String

    /// Builds (or loads) the program and, at first use on this device, tunes its work-group size.
    /// - Throws: ``OpenCLBuildError``, ``OpenCLError``.
    public init(context: OpenCLContext, loader: ProgramLoader = ProgramLoader()) throws {
        self.context = context
        self.loader = loader
        let loaded = try loader.load("modexp", context: context)
        origin = loaded.origin
        fingerprint = loaded.fingerprint
        kernel = try loaded.program.kernel("modexp_fixed_window")
        // Tuned on 64 exponentiations mod a 1024-bit modulus with a 128-bit exponent.
        let modulus = BigNumber(words: [UInt64.max - 58] + [UInt64](repeating: UInt64.max, count: 15))
        let bases = (0..<64).map { BigNumber(words: [UInt64($0) + 2, 0x0123_4567_89AB_CDEF]) }
        let exponent = BigNumber(words: [0xFEDC_BA98_7654_3210, 0x8000_0000_0000_0001])
        workGroupSize = try loader.workGroupSize(kernel, of: loaded, context: context, candidates: [1, 4, 16, 64]) {
            local in
            _ = try run(bases: bases, exponents: [exponent], modulus: modulus, localSize: local)
        }
    }

    /// base_i^exponent_i mod modulus for each i; `exponents` has one value (shared) or one per base.
    /// - Precondition: modulus odd, 1024 ≤ bits ≤ 8192; every base < modulus; exponents non-empty.
    /// - Throws: ``DeviceMemoryError`` when the batch's buffers exceed `limits` (default: the device's
    ///   own), checked before any is made; ``OpenCLError`` when an allocation or the launch fails.
    public func run(
        bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber, limits: DeviceMemoryLimits? = nil
    ) throws -> [BigNumber] {
        do {
            return try run(
                bases: bases, exponents: exponents, modulus: modulus, localSize: workGroupSize, limits: limits)
        } catch let error as OpenCLError where error.refusesWorkGroupSize {
            loader.forgetWorkGroupSize(kernel, of: fingerprint, context: context)  // the next load tunes again
            throw error
        }
    }

    func run(
        bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber, localSize: Int,
        limits: DeviceMemoryLimits? = nil
    ) throws -> [BigNumber] {
        precondition(modulus.bitCount >= 2 && modulus.bitCount <= 8192 && modulus.words(count: 1)[0] & 1 == 1)
        precondition(exponents.count == 1 || exponents.count == bases.count)
        guard !bases.isEmpty else { return [] }
        let limbs = (modulus.bitCount + 63) / 64
        let exponentLimbs = max(1, (exponents.map(\.bitCount).max()! + 63) / 64)
        try (limits ?? DeviceMemoryLimits(context)).check(
            [
                ("base", bases.count * limbs * 8), ("exponent", exponents.count * exponentLimbs * 8),
                ("modulus", limbs * 8),
                ("Montgomery R^2", limbs * 8), ("scratch", bases.count * (20 * limbs + 2) * 8),
                ("result", bases.count * limbs * 8),
            ],
            for: "a modexp batch of \(bases.count) \(modulus.bitCount)-bit exponentiations", on: context.deviceName)
        let baseWords = try context.buffer(bases.flatMap { $0.words(count: limbs) })
        let exponentWords = try context.buffer(exponents.flatMap { $0.words(count: exponentLimbs) })
        let modulusWords = try context.buffer(modulus.words(count: limbs))
        let r2 = try context.buffer(BigNumber.montgomeryR2(modulus, limbs: limbs).words(count: limbs))
        let scratch = try context.buffer(count: bases.count * (20 * limbs + 2))
        let out = try context.buffer(count: bases.count * limbs)
        try kernel.set(0, baseWords)
        try kernel.set(1, exponentWords)
        try kernel.set(2, UInt32(exponents.count == 1 ? 0 : exponentLimbs))
        try kernel.set(3, UInt32(exponentLimbs))
        try kernel.set(4, modulusWords)
        try kernel.set(5, r2)
        try kernel.set(6, BigNumber.montgomeryN0(modulus))
        try kernel.set(7, UInt32(limbs))
        try kernel.set(8, scratch)
        try kernel.set(9, out)
        try kernel.set(10, UInt32(bases.count))
        let global = localSize > 0 ? (bases.count + localSize - 1) / localSize * localSize : bases.count
        try context.launch(kernel, globalSize: global, localSize: localSize)
        var words = [UInt64](repeating: 0, count: bases.count * limbs)
        try context.read(out, into: &words)
        return (0..<bases.count).map { BigNumber(words: Array(words[($0 * limbs)..<(($0 + 1) * limbs)])) }
    }
}
