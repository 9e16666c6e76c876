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

    public init(context: OpenCLContext, loader: ProgramLoader = ProgramLoader()) throws {
        self.context = context
        let (program, origin) = try loader.load("modexp", context: context)
        self.origin = origin
        kernel = try program.kernel("modexp_fixed_window")
    }

    /// base_i^exponent_i mod modulus for each i; `exponents` has one value (shared) or one per base.
    /// - Precondition: modulus odd, 1024 ≤ bits ≤ 8192; every base < modulus; exponents non-empty.
    public func run(bases: [BigNumber], exponents: [BigNumber], modulus: BigNumber) throws -> [BigNumber] {
        precondition(modulus.bitCount >= 2 && modulus.bitCount <= 8192 && modulus.words(count: 1)[0] & 1 == 1)
        precondition(exponents.count == 1 || exponents.count == bases.count)
        guard !bases.isEmpty else { return [] }
        let limbs = (modulus.bitCount + 63) / 64
        let exponentLimbs = max(1, (exponents.map(\.bitCount).max()! + 63) / 64)
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
        try context.launch(kernel, globalSize: bases.count)
        var words = [UInt64](repeating: 0, count: bases.count * limbs)
        try context.read(out, into: &words)
        return (0..<bases.count).map { BigNumber(words: Array(words[($0 * limbs)..<(($0 + 1) * limbs)])) }
    }
}
