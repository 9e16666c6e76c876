import Foundation
import Glibc

/// Whole-file replacement that a crash cannot leave half-written.
public enum AtomicFile {
    /// Writes `data` to `path` as a whole: to a temporary file beside it (`path.tmp-<pid>-<random>`,
    /// created with `mode`, exclusively), `fsync` of the file, `rename` over `path`, then `fsync` of
    /// the directory so the rename itself is durable. A crash at any step leaves either the old file
    /// or the new one, never a mix; the temporary file is removed when a step fails.
    /// - Parameters:
    ///   - mode: the new file's permission bits (`0o600` by default), independent of the umask.
    /// - Throws: ``SystemError`` naming the call and the path.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        try write(data, to: path, mode: mode, beforeRename: {})
    }

    /// ``write(_:to:mode:)`` with `beforeRename` run after the temporary file is synced: where a
    /// test makes the process die.
    static func write(_ data: Data, to path: String, mode: mode_t, beforeRename: () -> Void) throws {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else { throw SystemError("open", temporary) }
        var failure: SystemError?
        if fchmod(descriptor, mode) != 0 { failure = SystemError("fchmod", temporary) }
        if failure == nil {
            let written = data.withUnsafeBytes { raw -> Int in
                var offset = 0
                while offset < raw.count {
                    let count = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if count < 0 {
                        if errno == EINTR { continue }
                        return -1
                    }
                    offset += count
                }
                return offset
            }
            if written != data.count { failure = SystemError("write", temporary) }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = SystemError("fsync", temporary) }
        close(descriptor)
        if failure == nil { beforeRename() }
        if failure == nil, rename(temporary, path) != 0 { failure = SystemError("rename", "\(temporary) to \(path)") }
        if let failure {
            unlink(temporary)
            throw failure
        }
        try syncDirectory(of: path)
    }

    /// `fsync` of the directory that holds `path`, making a rename or a new entry in it durable.
    /// - Throws: ``SystemError``.
    public static func syncDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open", directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SystemError("fsync", directory) }
    }
}
