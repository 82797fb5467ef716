import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The few POSIX calls that make a file write durable and all-or-nothing: write a temporary file in the same
/// directory, fsync it, rename it over the target, fsync the directory. A crash at any point leaves either the
/// old file or the new one, never a torn one.
enum AtomicFile {
    /// Writes `data` to `path` atomically and durably.
    /// - Throws: `StoreError.io` with the failing step and the system's reason.
    static func write(_ data: Data, to path: String) throws {
        try write([(data, path)])
    }

    /// Writes several files of one directory atomically and durably, with one directory fsync for all: every
    /// temporary file is written and fsynced, then each is renamed over its target. A crash leaves each file old or
    /// new, never torn.
    /// - Throws: `StoreError.io` with the failing step and the system's reason.
    static func write(_ files: [(data: Data, path: String)]) throws {
        guard let first = files.first else { return }
        var written: [String] = []
        defer { for temporary in written { unlink(temporary) } }
        for (data, path) in files {
            let temporary = path + ".tmp"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, DataDirectory.fileMode)
            guard descriptor >= 0 else { throw StoreError.io(step: "open \(temporary)", reason: lastError()) }
            written.append(temporary)
            let ok = writeAll(data, to: descriptor) && fsync(descriptor) == 0
            let reason = lastError()
            close(descriptor)
            guard ok else { throw StoreError.io(step: "write \(temporary)", reason: reason) }
        }
        for (_, path) in files {
            guard rename(path + ".tmp", path) == 0 else {
                throw StoreError.io(step: "rename to \(path)", reason: lastError())
            }
            written.removeAll { $0 == path + ".tmp" }
        }
        try syncDirectory((first.path as NSString).deletingLastPathComponent)
    }

    /// Writes all of `data` at the descriptor's position (retrying short writes and EINTR).
    /// - Returns: false on an error, with `errno` set.
    static func writeAll(_ data: Data, to descriptor: Int32) -> Bool {
        data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// fsyncs a directory, so a rename or unlink in it survives a crash.
    static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StoreError.io(step: "open \(path)", reason: lastError()) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw StoreError.io(step: "fsync \(path)", reason: lastError()) }
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
