import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One file of the journal, written in place into space filled with zeros beforehand.
///
/// fdatasync after an append that grows a file must also write the file's size (a file-system journal commit);
/// into blocks that already hold zeros it writes the data only, which is what makes one status change cost one
/// short fdatasync. The file therefore holds the lines, then zeros: its data ends at the first zero byte. Space is
/// added `chunk` bytes at a time (written and fsynced). A crash can leave a line cut short before the zeros; the
/// next append starts with a newline, so the torn line stays one unreadable line that readers skip.
///
/// A value owned by `EventJournal`, used only on its writer thread; not thread-safe by itself.
struct JournalFile {
    let path: String
    /// Bytes of zeros added when the data would pass the end of the file.
    static let chunk = 256 << 10

    private var descriptor: Int32?
    /// Where the next line goes; nil until the file was first opened by this process.
    private var end: Int?
    /// The file's size (data and zeros).
    private var allocated = 0
    /// The data does not end with a newline (a line cut short by a crash).
    private var needsNewline = false

    init(path: String) {
        self.path = path
    }

    /// The size of the data (opening the file to find it if it was never opened).
    mutating func dataSize() throws -> Int {
        _ = try open()
        return end!
    }

    /// Writes `lines` after the data; `durable`: fdatasync'd before it returns.
    /// - Throws: `StoreError.io`; the data then ends where it did (what was written of the lines is zeroed again).
    mutating func append(_ lines: Data, durable: Bool) throws {
        let descriptor = try open()
        var bytes = lines
        if needsNewline { bytes.insert(UInt8(ascii: "\n"), at: 0) }
        let start = end!
        if start + bytes.count > allocated { try extend(descriptor, toHold: start + bytes.count) }
        guard Self.writeAll(bytes, to: descriptor, at: start), !durable || Self.syncData(descriptor) else {
            let reason = AtomicFile.lastError()
            _ = Self.writeAll(Data(count: bytes.count), to: descriptor, at: start)
            throw StoreError.io(step: "append to \(path)", reason: reason)
        }
        end = start + bytes.count
        needsNewline = false
    }

    /// fdatasync, timed for `jobgate_journal_fsync_duration_seconds`.
    private static func syncData(_ descriptor: Int32) -> Bool {
        let started = ContinuousClock.now
        let synced = fdatasync(descriptor) == 0
        StoreMetrics.journalSynced(after: .now - started)
        return synced
    }

    /// Closes the file (it is opened again by the next append).
    mutating func close() {
        if let descriptor { Glibc.close(descriptor) }
        descriptor = nil
    }

    /// Renames the file to `target` (replacing it); the next append starts a new file.
    /// - Throws: `StoreError.io`.
    mutating func rename(to target: String) throws {
        close()
        guard Glibc.rename(path, target) == 0 else {
            throw StoreError.io(step: "rotate \(path)", reason: AtomicFile.lastError())
        }
        end = nil
        allocated = 0
    }

    private mutating func open() throws -> Int32 {
        if let descriptor { return descriptor }
        let existed = access(path, F_OK) == 0
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, DataDirectory.fileMode)
        guard descriptor >= 0 else { throw StoreError.io(step: "open \(path)", reason: AtomicFile.lastError()) }
        do {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                throw StoreError.io(step: "stat \(path)", reason: AtomicFile.lastError())
            }
            if status.st_mode & 0o077 != 0 { fchmod(descriptor, DataDirectory.fileMode) }  // an earlier jobgate's 0644
            if end == nil {
                let data = FileManager.default.contents(atPath: path) ?? Data()
                let length = Self.dataLength(of: data)
                end = length
                needsNewline = length > 0 && data[data.startIndex + length - 1] != UInt8(ascii: "\n")
                allocated = Int(status.st_size)
            }
            if !existed { try AtomicFile.syncDirectory((path as NSString).deletingLastPathComponent) }
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        return descriptor
    }

    /// Adds zeros up to a multiple of `chunk` that holds `size` bytes, and makes the new size durable.
    private mutating func extend(_ descriptor: Int32, toHold size: Int) throws {
        let target = (size / Self.chunk + 1) * Self.chunk
        let zeros = Data(count: 64 << 10)
        var offset = allocated
        while offset < target {
            let piece = min(zeros.count, target - offset)
            guard Self.writeAll(zeros.prefix(piece), to: descriptor, at: offset) else {
                let reason = AtomicFile.lastError()
                _ = ftruncate(descriptor, off_t(allocated))
                throw StoreError.io(step: "extend \(path)", reason: reason)
            }
            offset += piece
        }
        guard fsync(descriptor) == 0 else {
            let reason = AtomicFile.lastError()
            _ = ftruncate(descriptor, off_t(allocated))
            throw StoreError.io(step: "extend \(path)", reason: reason)
        }
        allocated = target
    }

    /// Where the data of a journal file ends: at its first zero byte, or its end.
    static func dataLength(of data: Data) -> Int {
        data.withUnsafeBytes { bytes -> Int in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
            guard let zero = memchr(base, 0, bytes.count) else { return bytes.count }
            return base.distance(to: UnsafeRawPointer(zero))
        }
    }

    /// Writes all of `data` at `offset` (retrying short writes and EINTR). Returns false on an error, with `errno` set.
    private static func writeAll(_ data: Data, to descriptor: Int32, at offset: Int) -> Bool {
        data.withUnsafeBytes { bytes -> Bool in
            var done = 0
            while done < bytes.count {
                let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += written
            }
            return true
        }
    }
}
