import ArcaCrypto
import ArcaOpenCL
import Foundation

/// Where a device's programs come from, and where built ones are kept.
///
/// With `prebuiltDirectory` set, a program is loaded only from `<dir>/<name>.bin`
/// (`clCreateProgramWithBinary`), as FPGA boards require. Otherwise it is built from
/// `<sourceDirectory>/<name>.cl` at first use and, with `cacheDirectory` set, its binary is kept as
/// `<cache>/<name>-<key>.bin`, where key = SHA-256 of (device name, driver version, source, build
/// options): a new driver or source is a new key, never a stale binary.
public struct ProgramLoader: Sendable, Equatable {
    public enum Origin: String, Sendable { case built, cached, prebuilt }

    public var sourceDirectory: String?
    public var cacheDirectory: String?
    public var prebuiltDirectory: String?
    public static let options = "-cl-std=CL1.2"

    public init(sourceDirectory: String? = nil, cacheDirectory: String? = nil, prebuiltDirectory: String? = nil) {
        self.sourceDirectory = sourceDirectory; self.cacheDirectory = cacheDirectory; self.prebuiltDirectory = prebuiltDirectory
    }

    /// The program `name` (`ntt`, `modexp`) for `context`'s device, and where it came from.
    public func load(_ name: String, context: OpenCLContext) throws -> (OpenCLProgram, Origin) {
        if let prebuiltDirectory {
            let path = "\(prebuiltDirectory)/\(name).bin"
            guard let binary = FileManager.default.contents(atPath: path) else {
                throw OpenCLError(status: -30, function: "load prebuilt program", context: "\(path) cannot be read")
            }
            return (try context.buildProgram(binary: Array(binary)), .prebuilt)
        }
        let source = try KernelSource.load("\(name).cl", from: sourceDirectory)
        guard let cacheDirectory else { return (try context.buildProgram(source: source, options: Self.options), .built) }
        let key = try Digest.sha256.hex(Array([context.deviceName, context.driverVersion, source, Self.options].joined(separator: "\u{1f}").utf8))
        let path = "\(cacheDirectory)/\(name)-\(key.prefix(32)).bin"
        if let binary = FileManager.default.contents(atPath: path) {
            if let program = try? context.buildProgram(binary: Array(binary)) { return (program, .cached) }
            try? FileManager.default.removeItem(atPath: path)  // unreadable by this device: rebuild it
        }
        let program = try context.buildProgram(source: source, options: Self.options)
        if let binary = try? program.binary(), !binary.isEmpty {
            try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            // Written whole or not at all: a temporary file renamed into place.
            let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
            if FileManager.default.createFile(atPath: temporary, contents: Data(binary)) {
                if rename(temporary, path) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
            }
        }
        return (program, .built)
    }
}
