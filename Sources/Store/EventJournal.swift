import Foundation
import JobModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The write-ahead log of job records, and the journal of recent job events: `<data>/events/journal.jsonl`, one
/// JSON object a line.
///
/// Three kinds of line:
/// - `{"lsn":N,"record":{...}}`: the whole new state of one run of a job, numbered by a log sequence number that
///   grows across restarts;
/// - `{"lsn":N,"forget":"<id>~<run>"}`: a run was forgotten (retention);
/// - an event (`{"data":...,"event":...,"id":"<epoch>-<sequence>",...}`), which lets a watcher resume from an event
///   id across a restart.
///
/// A change is durable once its lines are written and fdatasync'd (`append`, one write and one fdatasync a batch).
/// Record files and archive segments are checkpoints written later by `SnapshotStore`, which reports how far they
/// cover (`noteCheckpoint`); start-up replays the record lines after the last checkpoint (`load`). When the file
/// passes `maximumBytes` it becomes `journal.1.jsonl`, replacing the previous one, but only once the checkpoint
/// covers every record line of the file that would be dropped: until then the current file grows on.
///
/// Safe from any thread; appends are serialised under one lock (the one fdatasync of a batch runs under it). The
/// file is opened for each append and closed after it, so jobgate holds no file of the data directory open for
/// writing between writes (a read-only remount is not refused as busy, and a replaced file is picked up).
public final class EventJournal: Sendable {
    public let directory: String
    private let maximumBytes: Int

    private struct State {
        /// The last log sequence number handed out (record and forget lines).
        var lsn: UInt64 = 0
        /// The highest log sequence number in the previous file (what a rotation would drop).
        var previousLSN: UInt64 = 0
        /// The log sequence number through which the checkpoint covers.
        var checkpointed: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(dataDirectory: String, maximumBytes: Int = 8 << 20) throws {
        directory = dataDirectory + "/events"
        self.maximumBytes = maximumBytes
        try DataDirectory.makePrivateDirectory(directory)
    }

    public var currentPath: String { directory + "/journal.jsonl" }
    public var previousPath: String { directory + "/journal.1.jsonl" }

    /// The last log sequence number handed out.
    public var lastLSN: UInt64 {
        state.withLock { $0.lsn }
    }

    /// Appends one event; `durable`: fdatasync'd before it returns (without, it survives a crash of jobgate but
    /// not of the machine).
    /// - Throws: `StoreError.io`.
    public func append(_ event: JSONValue, durable: Bool = true) throws {
        try append(events: [event], durable: durable)
    }

    /// Appends, in this order, the new states of records (their JSON text), forgotten runs (`<id>~<run>`) and
    /// events, with one write and, if `durable`, one fdatasync for all.
    /// - Returns: the log sequence number of the last record or forget line (the last one handed out if none).
    /// - Throws: `StoreError.io`; nothing is logged then (a short write is cut off again).
    @discardableResult
    public func append(
        records: [Data] = [], forgotten: [String] = [], events: [JSONValue], durable: Bool
    ) throws -> UInt64 {
        try state.withLock { state in
            guard !records.isEmpty || !forgotten.isEmpty || !events.isEmpty else { return state.lsn }
            var lines = Data()
            var lsn = state.lsn
            for record in records {
                lsn += 1
                lines.append(contentsOf: Array(#"{"lsn":\#(lsn),"record":"#.utf8))
                lines.append(record)
                lines.append(contentsOf: Array("}\n".utf8))
            }
            for key in forgotten {
                lsn += 1
                lines.append(contentsOf: Array(#"{"lsn":\#(lsn),"forget":"#.utf8))
                lines.append(JSONValue.string(key).serialized())
                lines.append(contentsOf: Array("}\n".utf8))
            }
            for event in events {
                lines.append(event.serialized())
                lines.append(UInt8(ascii: "\n"))
            }
            let (descriptor, size) = try openCurrent(&state, adding: lines.count)
            defer { close(descriptor) }
            guard AtomicFile.writeAll(lines, to: descriptor), !durable || fdatasync(descriptor) == 0 else {
                let reason = AtomicFile.lastError()
                _ = ftruncate(descriptor, off_t(size))  // no half batch for the next append to follow
                throw StoreError.io(step: "append to \(currentPath)", reason: reason)
            }
            state.lsn = lsn
            return lsn
        }
    }

    /// The checkpoint now covers every record line through `lsn`: the previous file may be dropped once it holds
    /// nothing newer. Called by `SnapshotStore` after a checkpoint is durable, from its queue.
    public func noteCheckpoint(through lsn: UInt64) {
        state.withLock { $0.checkpointed = max($0.checkpointed, lsn) }
    }

    /// Opens the current file for an append of `count` bytes, first rotating it if it is due (see the type's
    /// documentation). A new file's directory entry is made durable before anything is written to it.
    /// - Returns: the descriptor (the caller closes it) and the file's size before the append.
    private func openCurrent(_ state: inout State, adding count: Int) throws -> (Int32, Int) {
        var status = stat()
        var exists = stat(currentPath, &status) == 0
        if exists, status.st_size > 0, Int(status.st_size) + count > maximumBytes,
            state.previousLSN <= state.checkpointed
        {
            guard rename(currentPath, previousPath) == 0 else {
                throw StoreError.io(step: "rotate \(currentPath)", reason: AtomicFile.lastError())
            }
            state.previousLSN = state.lsn
            exists = false
        }
        let descriptor = open(currentPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, DataDirectory.fileMode)
        guard descriptor >= 0 else {
            throw StoreError.io(step: "open \(currentPath)", reason: AtomicFile.lastError())
        }
        do {
            guard fstat(descriptor, &status) == 0 else {
                throw StoreError.io(step: "stat \(currentPath)", reason: AtomicFile.lastError())
            }
            if status.st_mode & 0o077 != 0 { fchmod(descriptor, DataDirectory.fileMode) }  // an earlier jobgate's 0644
            if !exists { try AtomicFile.syncDirectory(directory) }
        } catch {
            close(descriptor)
            throw error
        }
        return (descriptor, Int(status.st_size))
    }

    /// What start-up replays.
    public struct Replay: Sendable {
        /// One line after the checkpoint, oldest first.
        public enum Entry: Sendable {
            /// A run's new state (the record's JSON).
            case record(JSONValue)
            /// A run forgotten (`<id>~<run>`).
            case forget(String)
        }

        /// The last `eventLimit` events, oldest first.
        public var events: [JSONValue] = []
        /// Record and forget lines after the checkpoint, oldest first.
        public var entries: [Entry] = []

        public init() {}
    }

    /// Reads both files: the last `eventLimit` events, and the record and forget lines with a log sequence number
    /// above `checkpoint`. Lines that do not parse (a torn last line after a crash) are skipped. Call once, at
    /// start, before the first append: it also sets where numbering goes on.
    public func load(eventLimit: Int, checkpoint: UInt64) -> Replay {
        var replay = Replay()
        var events: [Data.SubSequence] = []
        var highest: UInt64 = 0
        var previousHighest: UInt64 = 0
        for path in [previousPath, currentPath] {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let lsn = Self.logSequenceNumber(of: line) else {
                    events.append(line)
                    continue
                }
                highest = max(highest, lsn)
                guard lsn > checkpoint, let entry = try? JSONValue.parse(Data(line)) else { continue }
                if let record = entry["record"], record.objectValue != nil {
                    replay.entries.append(.record(record))
                } else if let key = entry["forget"]?.stringValue {
                    replay.entries.append(.forget(key))
                }
            }
            if path == previousPath { previousHighest = highest }
        }
        replay.events = events.suffix(eventLimit).compactMap { try? JSONValue.parse(Data($0)) }
        state.withLock { state in
            state.lsn = max(state.lsn, highest, checkpoint)
            state.previousLSN = previousHighest
            state.checkpointed = max(state.checkpointed, checkpoint)
        }
        return replay
    }

    /// The last `limit` events kept, oldest first (previous file, then current).
    public func recent(limit: Int = .max) -> [JSONValue] {
        load(eventLimit: limit, checkpoint: .max).events
    }

    private static let lsnPrefix = Array(#"{"lsn":"#.utf8)

    /// The log sequence number of a record or forget line, or nil for an event line.
    static func logSequenceNumber(of line: Data.SubSequence) -> UInt64? {
        guard line.starts(with: lsnPrefix) else { return nil }
        var value: UInt64 = 0
        var digits = 0
        for byte in line.dropFirst(lsnPrefix.count) {
            guard byte >= 0x30 && byte <= 0x39 else { break }
            value = value &* 10 &+ UInt64(byte - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// Writes and fdatasyncs a 64 KiB file in the journal's directory, then removes it: whether the data
    /// directory takes durable writes again (a full disk does not take 64 KiB; a read-only one nothing).
    /// - Throws: `StoreError.io`.
    public func probe() throws {
        let path = directory + "/.probe"
        defer { unlink(path) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, DataDirectory.fileMode)
        guard descriptor >= 0 else { throw StoreError.io(step: "open \(path)", reason: AtomicFile.lastError()) }
        defer { close(descriptor) }
        guard AtomicFile.writeAll(Data(count: 64 << 10), to: descriptor), fdatasync(descriptor) == 0 else {
            throw StoreError.io(step: "write \(path)", reason: AtomicFile.lastError())
        }
    }
}
