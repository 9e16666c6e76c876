import ArcaMath
import ArcaOpenCL
import Foundation

/// The OpenCL C sources of `Kernels/`.
public enum KernelSource {
    /// `$ARCA_KERNELS_DIR`, else the repository's `Kernels/` next to these sources (development
    /// builds). Embedding the kernels in the binary for the sealed image is still to do.
    public static var directory: String {
        ProcessInfo.processInfo.environment["ARCA_KERNELS_DIR"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernels").path
    }

    /// The text of `name` (e.g. `ntt.cl`) from `directory` (default: ``directory``).
    public static func load(_ name: String, from directory: String? = nil) throws -> String {
        let path = (directory ?? Self.directory) + "/" + name
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw OpenCLError(
                status: -30, function: "load kernel source", context: "\(path): \(error.localizedDescription)")
        }
    }
}

/// Batched negacyclic NTTs on an OpenCL device, bit-identical to ``NTTPlan`` on the CPU.
///
/// One plan per (degree, RNS basis): the twiddle tables of every limb stay on the device. A batch
/// is `batch` polynomials of `degree` coefficients each, polynomial-major; polynomial p belongs to
/// limb p % limbs, and its coefficients are < that limb's modulus.
public final class OpenCLNTT: @unchecked Sendable {
    public let degree: Int
    public let plans: [NTTPlan]
    let context: OpenCLContext
    let forwardStage, forwardFinal, inverseStage, inverseFinal, mulHi: OpenCLKernel
    let moduli, roots, rootsShoup, inverseRoots, inverseRootsShoup, inverseN, inverseNShoup: OpenCLBuffer

    /// Where the program came from: built, cached or prebuilt.
    public let origin: ProgramLoader.Origin
    /// Work-items per work-group of the stage kernels (0: the driver's choice), tuned for this device
    /// at first use and kept (``WorkGroupSizes``).
    public private(set) var workGroupSize = 0
    let loader: ProgramLoader
    let fingerprint: String

    /// Builds (or loads) the program, puts the twiddle tables on the device and, at first use on this
    /// device, tunes the stage kernels' work-group size.
    /// - Precondition: every plan has the same degree.
    /// - Throws: ``OpenCLBuildError``, ``OpenCLError``.
    public init(context: OpenCLContext, plans: [NTTPlan], loader: ProgramLoader = ProgramLoader()) throws {
        precondition(!plans.isEmpty && plans.allSatisfy { $0.degree == plans[0].degree })
        self.context = context
        self.plans = plans
        self.loader = loader
        degree = plans[0].degree
        let loaded = try loader.load("ntt", context: context)
        origin = loaded.origin
        fingerprint = loaded.fingerprint
        forwardStage = try loaded.program.kernel("ntt_forward_stage")
        forwardFinal = try loaded.program.kernel("ntt_forward_final")
        inverseStage = try loaded.program.kernel("ntt_inverse_stage")
        inverseFinal = try loaded.program.kernel("ntt_inverse_final")
        mulHi = try loaded.program.kernel("selftest_mul_hi")
        moduli = try context.buffer(plans.map(\.modulus.value))
        roots = try context.buffer(plans.flatMap(\.roots))
        rootsShoup = try context.buffer(plans.flatMap(\.rootsShoup))
        inverseRoots = try context.buffer(plans.flatMap(\.inverseRoots))
        inverseRootsShoup = try context.buffer(plans.flatMap(\.inverseRootsShoup))
        inverseN = try context.buffer(plans.map(\.inverseDegree))
        inverseNShoup = try context.buffer(plans.map(\.inverseDegreeShoup))
        // Tuned on one forward transform of at least 2^14 coefficients (whole polynomials, every limb).
        let count = max(1, (1 << 14) / (degree * plans.count)) * degree * plans.count
        let scratch = try context.buffer(count: count)
        workGroupSize = try loader.workGroupSize(
            forwardStage, sharing: [inverseStage], of: loaded, context: context, candidates: [16, 64, 256]
        ) { local in
            try stages(scratch, count: count, inverse: false, localSize: local)
            try context.finish()
        }
    }

    /// Forward NTT of every polynomial of `values` (natural order in, bit-reversed out).
    /// - Throws: ``DeviceMemoryError`` when the batch exceeds `limits` (default: the device's own),
    ///   ``OpenCLError`` when a launch fails.
    public func forward(_ values: inout [UInt64], limits: DeviceMemoryLimits? = nil) throws {
        try run(&values, inverse: false, limits: limits)
    }

    /// Inverse NTT of every polynomial of `values` (bit-reversed in, natural out, scaled by n⁻¹).
    public func inverse(_ values: inout [UInt64], limits: DeviceMemoryLimits? = nil) throws {
        try run(&values, inverse: true, limits: limits)
    }

    /// The device's `mul_hi(a[i], b[i])`: the high 64 bits of each 128-bit product (self-test).
    public func multiplyHigh(_ a: [UInt64], _ b: [UInt64]) throws -> [UInt64] {
        precondition(a.count == b.count && !a.isEmpty)
        let (left, right, out) = (try context.buffer(a), try context.buffer(b), try context.buffer(count: a.count))
        try mulHi.set(0, left); try mulHi.set(1, right); try mulHi.set(2, out)
        try context.launch(mulHi, globalSize: a.count)
        var result = [UInt64](repeating: 0, count: a.count)
        try context.read(out, into: &result)
        return result
    }

    func run(_ values: inout [UInt64], inverse: Bool, limits: DeviceMemoryLimits? = nil) throws {
        precondition(values.count % degree == 0, "a batch is whole polynomials of \(degree) coefficients")
        try (limits ?? DeviceMemoryLimits(context)).check(
            [("coefficient", values.count * 8), ("twiddle", plans.count * degree * 8 * 4)],
            for: "an NTT batch of \(values.count / degree) polynomials of degree \(degree)", on: context.deviceName)
        let data = try context.buffer(values)
        do {
            try stages(data, count: values.count, inverse: inverse, localSize: workGroupSize)
        } catch let error as OpenCLError where error.refusesWorkGroupSize {
            loader.forgetWorkGroupSize(forwardStage, of: fingerprint, context: context)  // the next load tunes again
            throw error
        }
        let logN = UInt32(degree.trailingZeroBitCount)
        let final = inverse ? inverseFinal : forwardFinal
        try final.set(0, data)
        try final.set(1, moduli)
        if inverse {
            try final.set(2, inverseN)
            try final.set(3, inverseNShoup)
            try final.set(4, logN)
            try final.set(5, UInt32(plans.count))
        } else {
            try final.set(2, logN)
            try final.set(3, UInt32(plans.count))
        }
        try context.launch(final, globalSize: values.count)
        try context.read(data, into: &values)
    }

    /// Enqueues the log2 n butterfly stages over `count` coefficients of `data`.
    func stages(_ data: OpenCLBuffer, count: Int, inverse: Bool, localSize: Int) throws {
        let logN = UInt32(degree.trailingZeroBitCount)
        let stage = inverse ? inverseStage : forwardStage
        try stage.set(0, data)
        try stage.set(1, inverse ? inverseRoots : roots)
        try stage.set(2, inverse ? inverseRootsShoup : rootsShoup)
        try stage.set(3, moduli)
        try stage.set(4, logN)
        try stage.set(5, UInt32(plans.count))
        // Forward: m = 1, 2, …, n/2 groups with t = n/(2m); inverse: the same stages in reverse.
        let all = (0..<Int(logN)).map { UInt32($0) }
        for s in inverse ? all.reversed() : all {
            try stage.set(6, UInt32(1) << s)  // m
            try stage.set(7, logN - 1 - s)  // log2 t
            try context.launch(stage, globalSize: count / 2, localSize: localSize)
        }
    }
}
