import ArcaOpenCL
import ArcaSystem
import Foundation
import Synchronization

/// Work-group sizes tuned per device and kernel at first use, and kept for later launches.
///
/// Key: `<device name>|<driver version>|<kernel>|<program fingerprint>`, so a new driver, source or
/// build option is tuned afresh. With the loader's `cacheDirectory` set, the sizes are kept in
/// `<cache>/workgroup-sizes.json`, a JSON object from key to work-items per group (0: the driver's
/// choice), rewritten whole; without one, for the life of the process. A kept size is not checked
/// against the device: one it does not take fails the launch (`CL_INVALID_WORK_GROUP_SIZE`), the batch
/// runs on the CPU, and the entry is forgotten so the next program load tunes again.
public enum WorkGroupSizes {
    public static let fileName = "workgroup-sizes.json"
    static let inProcess = Mutex<[String: Int]>([:])
    static let fileLock = Mutex(())

    static func key(kernel: String, fingerprint: String, context: OpenCLContext) -> String {
        [context.deviceName, context.driverVersion, kernel, fingerprint].joined(separator: "|")
    }

    /// The kept sizes in `directory`'s file; empty when it is missing or unreadable.
    public static func read(directory: String) -> [String: Int] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + fileName),
            let sizes = try? JSONDecoder().decode([String: Int].self, from: data)
        else { return [:] }
        return sizes
    }

    /// The kept size: the file's, else the one tuned earlier in this process (then written to the file).
    static func stored(_ key: String, directory: String?) -> Int? {
        if let directory, let size = read(directory: directory)[key] { return size }
        guard let size = inProcess.withLock({ $0[key] }) else { return nil }
        if directory != nil { store(key, size, directory: directory) }
        return size
    }

    /// Keeps (or with `nil` forgets) the size for `key`; the file is written to a temporary name and
    /// renamed into place, never half-written. A file that cannot be written leaves the in-process copy.
    static func store(_ key: String, _ size: Int?, directory: String?) {
        inProcess.withLock { $0[key] = size }
        guard let directory else { return }
        fileLock.withLock { _ in
            var sizes = read(directory: directory)
            guard sizes[key] != size else { return }
            sizes[key] = size
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            guard let data = try? encoder.encode(sizes) else { return }
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = directory + "/" + fileName
            try? AtomicFile.write(data, to: path, mode: 0o644)
        }
    }
}

extension ProgramLoader {
    /// The work-group size for `kernel` of `program` on `context`'s device: the kept one, else the
    /// fastest of `candidates` (work-items per group; 0 is the driver's choice and always tried)
    /// that the kernel (and every kernel of `sharing`, which launch with the same size) takes, timed by
    /// `run` (one warm-up, then the median of 3), and kept.
    /// - Throws: what `run` throws with the driver's choice (the kernel cannot run at all).
    public func workGroupSize(
        _ kernel: OpenCLKernel, sharing: [OpenCLKernel] = [], of program: Loaded, context: OpenCLContext,
        candidates: [Int], run: (Int) throws -> Void
    ) throws -> Int {
        let key = WorkGroupSizes.key(kernel: kernel.name, fingerprint: program.fingerprint, context: context)
        if let size = WorkGroupSizes.stored(key, directory: cacheDirectory) { return size }
        let limit = ([kernel] + sharing).map { (try? context.workGroupSizeLimit($0)) ?? 0 }.min() ?? 0
        var best = (size: 0, nanoseconds: Double.infinity)
        for size in [0] + candidates.filter({ $0 > 0 && $0 <= limit }) {
            do {
                try run(size)  // warm-up: a driver may compile a variant per work-group size
                var samples: [Double] = []
                for _ in 0..<3 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    try run(size)
                    samples.append(Double(DispatchTime.now().uptimeNanoseconds - start))
                }
                let median = Timing.median(samples)
                if median < best.nanoseconds { best = (size, median) }
            } catch {
                if size == 0 { throw error }  // a size the device refuses is just not a candidate
            }
        }
        WorkGroupSizes.store(key, best.size, directory: cacheDirectory)
        return best.size
    }

    /// Forgets the kept size of `kernel` of `program` (after the device refused it).
    public func forgetWorkGroupSize(_ kernel: OpenCLKernel, of fingerprint: String, context: OpenCLContext) {
        WorkGroupSizes.store(
            WorkGroupSizes.key(kernel: kernel.name, fingerprint: fingerprint, context: context), nil,
            directory: cacheDirectory)
    }
}
