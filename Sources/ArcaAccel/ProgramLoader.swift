import ArcaCrypto
import ArcaOpenCL
import ArcaSystem
import Foundation

/// Where a device's programs come from, and where built ones are kept.
///
/// With `prebuiltDirectory` set, a program is loaded only from `<dir>/<name>.bin`
/// (`clCreateProgramWithBinary`), as FPGA boards require. Otherwise it is built from
/// `<sourceDirectory>/<name>.cl` at first use and, with `cacheDirectory` set, its binary is kept as
/// `<cache>/<name>-<key>.bin`, where key = SHA-256 of (device name, driver version, source, build
/// options): a new driver or source is a new key, never a stale binary. The work-group sizes tuned
/// for the programs' kernels are kept beside them (``WorkGroupSizes``).
public struct ProgramLoader: Sendable, Equatable {
    public enum Origin: String, Sendable { case built, cached, prebuilt }

    /// A program ready for `clCreateKernel`, where it came from, and its fingerprint: the first 16 hex
    /// digits of SHA-256 of (source, build options), or of the prebuilt binary.
    public struct Loaded: @unchecked Sendable {
        public var program: OpenCLProgram
        public var origin: Origin
        public var fingerprint: String
    }

    public var sourceDirectory: String?
    public var cacheDirectory: String?
    public var prebuiltDirectory: String?
    /// Options for `clBuildProgram` of programs built from source (default ``defaultOptions``).
    public var buildOptions: String
    public static let defaultOptions = "-cl-std=CL1.2"

    public init(
        sourceDirectory: String? = nil, cacheDirectory: String? = nil, prebuiltDirectory: String? = nil,
        buildOptions: String = ProgramLoader.defaultOptions
    ) {
        self.sourceDirectory = sourceDirectory; self.cacheDirectory = cacheDirectory;
        self.prebuiltDirectory = prebuiltDirectory
        self.buildOptions = buildOptions
    }

    /// The program `name` (`ntt`, `modexp`) for `context`'s device.
    /// - Throws: ``OpenCLBuildError`` with the build log (an invalid source or build option, a binary
    ///   the device refuses); ``OpenCLError`` when the source or binary cannot be read.
    public func load(_ name: String, context: OpenCLContext) throws -> Loaded {
        if let prebuiltDirectory {
            let path = "\(prebuiltDirectory)/\(name).bin"
            guard let binary = FileManager.default.contents(atPath: path) else {
                throw OpenCLError(status: -30, function: "load prebuilt program", context: "\(path) cannot be read")
            }
            let fingerprint = try Digest.sha256.hex(Array(binary)).prefix(16)
            return Loaded(
                program: try context.buildProgram(binary: Array(binary)), origin: .prebuilt,
                fingerprint: String(fingerprint))
        }
        let source = try KernelSource.load("\(name).cl", from: sourceDirectory)
        let fingerprint = String(
            try Digest.sha256.hex(Array([source, buildOptions].joined(separator: "\u{1f}").utf8)).prefix(16))
        guard let cacheDirectory else {
            return Loaded(
                program: try context.buildProgram(source: source, options: buildOptions), origin: .built,
                fingerprint: fingerprint)
        }
        let key = try Digest.sha256.hex(
            Array([context.deviceName, context.driverVersion, source, buildOptions].joined(separator: "\u{1f}").utf8))
        let path = "\(cacheDirectory)/\(name)-\(key.prefix(32)).bin"
        if let binary = FileManager.default.contents(atPath: path) {
            if let program = try? context.buildProgram(binary: Array(binary)) {
                return Loaded(program: program, origin: .cached, fingerprint: fingerprint)
            }
            try? FileManager.default.removeItem(atPath: path)  // unreadable by this device: rebuild it
        }
        let program = try context.buildProgram(source: source, options: buildOptions)
        if let binary = try? program.binary(), !binary.isEmpty {
            try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            // Written whole or not at all; a cache that cannot be written is rebuilt next time.
            try? AtomicFile.write(Data(binary), to: path, mode: 0o644)
        }
        return Loaded(program: program, origin: .built, fingerprint: fingerprint)
    }
}
