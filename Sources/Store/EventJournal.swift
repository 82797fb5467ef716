import Foundation
import JSON
import JobModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The write-ahead log of job records, and the journal of recent job events: `<data>/events/journal.jsonl`, one
/// JSON object a line.
///
/// Four kinds of line:
/// - `{"lsn":N,"record":{...}}`: the whole new state of one run of a job, numbered by a log sequence number that
///   grows across restarts;
/// - `{"lsn":N,"status":{"run":"<id>~<run>","entered":[...],...}}`: status changes of a run since its last line
///   (`JobRecord.StatusDelta`), the common case, a few dozen bytes instead of the whole record;
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
/// Safe from any thread. The file is owned by one thread (`writer`, `WriterThread.journal`): appends, rotation and
/// the idle close run there one at a time, and an append waits for its turn and its fdatasync. No lock is held across the file's
/// system calls; the lock guards only the numbers other threads read. Lines are written in place into zeros laid
/// down ahead (`JournalFile`), so that fdatasync writes data only. The file is closed after `idleClose` without
/// appends, so an idle jobgate holds no file of the data directory open for writing (a read-only remount is not
/// refused as busy).
public final class EventJournal: Sendable {
    public let directory: String
    private let maximumBytes: Int

    /// What only `writer` touches.
    private final class WriterState: @unchecked Sendable {
        var file: JournalFile
        /// When the last append was made, and whether a check to close the idle file is queued.
        var lastAppend = ContinuousClock.now
        var closeQueued = false
        /// The highest log sequence number in the previous file (what a rotation would drop).
        var previousLSN: UInt64 = 0

        init(file: JournalFile) { self.file = file }
    }

    /// The numbers other threads read or set.
    private struct Numbers {
        /// The last log sequence number handed out (record and forget lines).
        var lsn: UInt64 = 0
        /// The log sequence number through which the checkpoint covers.
        var checkpointed: UInt64 = 0
    }

    private let writer = WriterThread.journal
    private let owned: WriterState
    private let numbers = Mutex(Numbers())
    private let idleClose: Duration

    public init(dataDirectory: String, maximumBytes: Int = 8 << 20, idleClose: Duration = .milliseconds(20)) throws {
        directory = dataDirectory + "/events"
        self.maximumBytes = maximumBytes
        self.idleClose = idleClose
        owned = WriterState(file: JournalFile(path: directory + "/journal.jsonl"))
        try DataDirectory.makePrivateDirectory(directory)
    }

    public var currentPath: String { directory + "/journal.jsonl" }
    public var previousPath: String { directory + "/journal.1.jsonl" }

    /// The last log sequence number handed out.
    public var lastLSN: UInt64 {
        numbers.withLock { $0.lsn }
    }

    /// Appends one event; `durable`: fdatasync'd before it returns (without, it survives a crash of jobgate but
    /// not of the machine).
    /// - Throws: `StoreError.io`.
    public func append(_ event: JSONValue, durable: Bool = true) throws {
        try append(events: [event], durable: durable)
    }

    /// A change of the records, as a line of its own with a log sequence number.
    public enum Change: Sendable {
        /// A run's whole new state (the record's JSON text).
        case record(Data)
        /// A run's status changes (a `JobRecord.StatusDelta`'s JSON text).
        case status(Data)
        /// A run forgotten (`<id>~<run>`).
        case forget(String)
    }

    /// Appends, in this order, changes of the records and events, with one write and, if `durable`, one
    /// fdatasync for all; returns when they are written (and synced). Runs on `writer`, the caller waiting.
    /// - Returns: the log sequence number of the last change (the last one handed out if there is none).
    /// - Throws: `StoreError.io`; nothing is logged then (what was written of the batch is zeroed again).
    @discardableResult
    public func append(changes: [Change] = [], events: [JSONValue], durable: Bool) throws -> UInt64 {
        try writer.sync { [self] in
            // Only `writer` hands out numbers, so the last one cannot move meanwhile.
            var lsn = lastLSN
            guard !changes.isEmpty || !events.isEmpty else { return lsn }
            var lines = Data()
            for change in changes {
                lsn += 1
                lines.append(contentsOf: Array(#"{"lsn":\#(lsn),"#.utf8))
                switch change {
                case .record(let record):
                    lines.append(contentsOf: Array(#""record":"#.utf8))
                    lines.append(record)
                case .status(let delta):
                    lines.append(contentsOf: Array(#""status":"#.utf8))
                    lines.append(delta)
                case .forget(let key):
                    lines.append(contentsOf: Array(#""forget":"#.utf8))
                    lines.append(JSONValue.string(key).serialized())
                }
                lines.append(contentsOf: Array("}\n".utf8))
            }
            for event in events {
                lines.append(event.serialized())
                lines.append(UInt8(ascii: "\n"))
            }
            try rotateIfDue(adding: lines.count)
            try owned.file.append(lines, durable: durable)
            numbers.withLock { [lsn] in $0.lsn = lsn }
            owned.lastAppend = .now
            if !owned.closeQueued {
                owned.closeQueued = true
                writer.async(after: idleClose) { [self] in closeIfIdle() }
            }
            return lsn
        }
    }

    /// The checkpoint now covers every record line through `lsn`: the previous file may be dropped once it holds
    /// nothing newer. Called by `SnapshotStore` after a checkpoint is durable, on its writer thread.
    public func noteCheckpoint(through lsn: UInt64) {
        numbers.withLock { $0.checkpointed = max($0.checkpointed, lsn) }
    }

    /// Rotates the current file if the append would take it past `maximumBytes` and the checkpoint covers the
    /// previous file (see the type's documentation). On `writer`.
    private func rotateIfDue(adding count: Int) throws {
        let size = try owned.file.dataSize()
        let (lsn, checkpointed) = numbers.withLock { ($0.lsn, $0.checkpointed) }
        guard size > 0, size + count > maximumBytes, owned.previousLSN <= checkpointed else { return }
        try owned.file.rename(to: previousPath)
        owned.previousLSN = lsn
    }

    /// Closes the file if nothing was appended for `idleClose`; otherwise looks again later. On `writer`.
    private func closeIfIdle() {
        let idle = ContinuousClock.now - owned.lastAppend
        guard idle < idleClose else {
            owned.file.close()
            owned.closeQueued = false
            return
        }
        writer.async(after: idleClose - idle) { [self] in closeIfIdle() }
    }

    /// What start-up replays.
    public struct Replay: Sendable {
        /// One line after the checkpoint, oldest first.
        public enum Entry: Sendable {
            /// A run's new state (the record's JSON).
            case record(JSONValue)
            /// A run's status changes (a `JobRecord.StatusDelta`'s JSON).
            case status(JSONValue)
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
        let (replay, highest, previousHighest) = read(eventLimit: eventLimit, checkpoint: checkpoint)
        writer.sync { [self] in owned.previousLSN = previousHighest }
        numbers.withLock { numbers in
            numbers.lsn = max(numbers.lsn, highest, checkpoint)
            numbers.checkpointed = max(numbers.checkpointed, checkpoint)
        }
        return replay
    }

    /// The last `limit` events kept, oldest first (previous file, then current). Reads only.
    public func recent(limit: Int = .max) -> [JSONValue] {
        read(eventLimit: limit, checkpoint: .max).replay.events
    }

    /// Both files' events (the last `eventLimit`) and the record and forget lines above `checkpoint`, with the
    /// highest log sequence number in all and in the previous file.
    private func read(eventLimit: Int, checkpoint: UInt64) -> (replay: Replay, highest: UInt64, previous: UInt64) {
        var replay = Replay()
        var events: [Data.SubSequence] = []
        var highest: UInt64 = 0
        var previousHighest: UInt64 = 0
        for path in [previousPath, currentPath] {
            guard let contents = FileManager.default.contents(atPath: path) else { continue }
            let data = contents.prefix(JournalFile.dataLength(of: contents))
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let lsn = Self.logSequenceNumber(of: line) else {
                    events.append(line)
                    continue
                }
                highest = max(highest, lsn)
                guard lsn > checkpoint, let entry = try? JSONValue.parse(Data(line)) else { continue }
                if let record = entry["record"], record.objectValue != nil {
                    replay.entries.append(.record(record))
                } else if let delta = entry["status"], delta.objectValue != nil {
                    replay.entries.append(.status(delta))
                } else if let key = entry["forget"]?.stringValue {
                    replay.entries.append(.forget(key))
                }
            }
            if path == previousPath { previousHighest = highest }
        }
        replay.events = events.suffix(eventLimit).compactMap { try? JSONValue.parse(Data($0)) }
        return (replay, highest, previousHighest)
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

    /// Writes and fdatasyncs a file of one journal chunk (`JournalFile.chunk`) in the journal's directory, then
    /// removes it: whether the data directory takes durable writes again, with room for the journal to grow by
    /// a chunk (less would let jobgate resume only to fail at the next extension).
    /// - Throws: `StoreError.io`.
    public func probe() throws {
        let path = directory + "/.probe"
        defer { unlink(path) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, DataDirectory.fileMode)
        guard descriptor >= 0 else { throw StoreError.io(step: "open \(path)", reason: AtomicFile.lastError()) }
        defer { close(descriptor) }
        guard AtomicFile.writeAll(Data(count: JournalFile.chunk), to: descriptor), fdatasync(descriptor) == 0 else {
            throw StoreError.io(step: "write \(path)", reason: AtomicFile.lastError())
        }
    }
}
