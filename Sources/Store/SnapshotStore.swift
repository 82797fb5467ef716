import Foundation
import JSON
import JobModel
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Job records as JSON snapshot files, one file per run of a job: `<data>/records/<id>~<run>.json`, each
/// `{"version": 1, "record": {...}}`; finished records (`null`: they never change again) move into an append-only
/// archive instead (`FinishedArchive`, `<data>/records/archive/`), so that start-up reads a few files, not one per
/// record.
///
/// These files are checkpoints of the write-ahead log (`EventJournal`): a change is durable once it is in the
/// journal, and `checkpoint` hands its new state here, to be written about a second later from the store's own
/// writer thread, off the path from QEMU's event to the subscribers (latest state wins; see SnapshotStore+Checkpoint.swift).
/// One file per record keeps the cost of a checkpoint independent of how many records exist. Writes are atomic and
/// durable (`AtomicFile`) and happen one at a time, in order.
public final class SnapshotStore: Sendable {
    /// The schema version this jobgate writes and reads.
    public static let schemaVersion = 1

    public let directory: String
    public let quarantineDirectory: String
    let logger: Logger
    /// The store's writer thread: every write of record files, the archive and the marker runs there, one at a time
    /// and in order (so an older pending state can never land after a newer `save`). Synchronous callers wait with
    /// `writer.sync`; no lock is held across the files.
    let writer = WriterThread.checkpoints
    let flushDelay: Double
    /// What the next checkpoint writes (see `Pending`).
    let pending = Mutex(Pending())
    /// The log sequence number the last durable checkpoint covers (the marker file's content).
    let checkpointed: Mutex<UInt64>
    let archive: FinishedArchive
    /// Told how far each checkpoint covers, so it can drop what is checkpointed.
    let journal: EventJournal?
    /// Told when a checkpoint cannot be written.
    let health: StorageHealth?

    /// - Parameters:
    ///   - dataDirectory: the records go to `records/` in it, unreadable files to `quarantine/`.
    ///   - flushDelay: seconds between a change handed over and the checkpoint that writes it.
    ///   - journal: the write-ahead log these files checkpoint.
    public init(
        dataDirectory: String, flushDelay: Double = 1, journal: EventJournal? = nil, health: StorageHealth? = nil,
        logger: Logger
    ) throws {
        directory = dataDirectory + "/records"
        quarantineDirectory = dataDirectory + "/quarantine"
        self.flushDelay = flushDelay
        self.logger = logger
        self.journal = journal
        self.health = health
        checkpointed = Mutex(Self.readMarker(directory + "/checkpoint"))
        try DataDirectory.makePrivateDirectory(directory)
        archive = try FinishedArchive(
            directory: directory + "/archive", quarantineDirectory: quarantineDirectory, logger: logger)
    }

    /// The file of one run of a job: `<id>~<run>.json` for an id of QEMU's grammar that fits
    /// (`QEMUIdentifier`), else `=<128-bit hash of the id>~<run>.json`, so the name never depends on the id being a
    /// valid file name (QEMU accepts ids of any length from its other clients; `=` is not in its grammar).
    static func fileName(of record: JobRecord) -> String {
        let plain = QEMUIdentifier.isWellFormed(record.id) && record.id.utf8.count <= QEMUIdentifier.maximumLength
        return (plain ? record.id : "=" + hashedName(record.id)) + "~\(record.run).json"
    }

    /// Two FNV-1a 64-bit hashes of the id's bytes (different offset bases), as 32 hex digits.
    static func hashedName(_ id: String) -> String {
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x6c62_272e_07bb_0142
        for byte in id.utf8 {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return String(format: "%016llx%016llx", first, second)
    }

    /// The run key a plain file name stands for, or nil for a hashed one (it must be decoded to know).
    private static func runKey(ofFileName name: String) -> String? {
        name.hasPrefix("=") ? nil : String(name.dropLast(5))
    }

    /// Whether a record goes to the archive: it is gone from QEMU and can never change again.
    static func isFinished(_ record: JobRecord) -> Bool {
        record.status == .null && record.finalStats != nil
    }

    /// Writes records where they belong (on `writer`), with one round of fsyncs for all: finished
    /// ones are appended to the archive and their snapshot files, if any, deleted (a crash in between leaves
    /// both; loading prefers the archive); the others replace their files atomically.
    func write(_ records: [JobRecord]) throws {
        let finished = records.filter(Self.isFinished)
        if !finished.isEmpty {
            try archive.append(records: finished.map { ($0, $0.json(now: Date()).serialized()) })
            for record in finished { unlink(directory + "/" + Self.fileName(of: record)) }
        }
        try AtomicFile.write(
            try records.filter { !Self.isFinished($0) }.map {
                (try Self.encode($0), directory + "/" + Self.fileName(of: $0))
            }
        )
    }

    /// Writes `record` now, as a checkpoint would, outside the journal (tests and tools that lay out a data
    /// directory); returns once it is durable. Blocks the caller for one write and two fsyncs.
    /// - Throws: `StoreError.io`.
    public func save(_ record: JobRecord) throws {
        try saveAll([record])
    }

    /// Writes `records` (at most one state per run) now, as `save` does, with one round of fsyncs for all; returns
    /// once they are durable. A pending checkpoint of any of them is dropped.
    /// - Throws: `StoreError.io`.
    public func saveAll(_ records: [JobRecord]) throws {
        try writer.sync { [self] in
            pending.withLock { pending in
                for record in records { _ = pending.records.removeValue(forKey: Self.fileName(of: record)) }
            }
            try write(records)
        }
    }

    /// Deletes runs (retention): their snapshot files or archive entries.
    /// - Throws: `StoreError.io`.
    public func removeNow(_ records: [JobRecord]) throws {
        try writer.sync { [self] in try delete(records) }
    }

    /// `removeNow`, on `writer`.
    func delete(_ records: [JobRecord]) throws {
        guard !records.isEmpty else { return }
        var archived = Set<String>()
        for record in records {
            let name = Self.fileName(of: record)
            pending.withLock { _ = $0.records.removeValue(forKey: name) }
            if archive.holds(record.runKey) {
                archived.insert(record.runKey)
                continue
            }
            let path = directory + "/" + name
            guard unlink(path) == 0 || errno == ENOENT else {
                throw StoreError.io(step: "unlink \(path)", reason: String(cString: strerror(errno)))
            }
        }
        try archive.remove(keys: archived)
        try AtomicFile.syncDirectory(directory)
    }

    /// Moves finished records that are still snapshot files (written by an earlier jobgate, or left by a crash)
    /// into the archive, in batches; a record whose file is gone meanwhile (retention) is skipped. Start-up is
    /// faster afterwards.
    public func archiveLooseRecords(_ records: [Loaded], batch: Int = 1024) {
        var moved = 0
        for start in stride(from: 0, to: records.count, by: batch) {
            let written = writer.sync { [self] () -> Int? in
                let chunk = records[start..<min(start + batch, records.count)].filter { loaded in
                    !loaded.isArchived && Self.isFinished(loaded.record) && loaded.json != nil
                        && access(directory + "/" + Self.fileName(of: loaded.record), F_OK) == 0
                }
                do {
                    try archive.append(records: chunk.map { ($0.record, $0.json!) })
                } catch {
                    logger.error("could not archive finished records", metadata: ["error": "\(error)"])
                    return nil
                }
                for loaded in chunk { unlink(directory + "/" + Self.fileName(of: loaded.record)) }
                return chunk.count
            }
            guard let written else { return }
            moved += written
        }
        writer.sync { [directory] in try? AtomicFile.syncDirectory(directory) }
        if moved > 0 { logger.info("moved finished records into the archive", metadata: ["records": "\(moved)"]) }
    }

    /// Increments and returns the start counter kept in `<data>/epoch`, so event cursors of this run of jobgate
    /// never collide with an earlier run's.
    /// - Throws: `StoreError.io`.
    public func nextEpoch() throws -> UInt64 {
        let path = (directory as NSString).deletingLastPathComponent + "/epoch"
        let previous =
            (try? String(contentsOfFile: path, encoding: .utf8))
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let next = previous + 1
        try writer.sync { try AtomicFile.write(Data("\(next)\n".utf8), to: path) }
        return next
    }

    /// Reads every snapshot. Files that do not parse or have another schema version are moved to the quarantine
    /// directory with a warning; they never stop jobgate.
    public func loadAll() -> [JobRecord] {
        loadSnapshots().map(\.record)
    }

    /// One record read from disk, with the exact JSON text of the record when the file holds it in the canonical
    /// form jobgate writes (so a finished record can be served without encoding it again). Finished records come
    /// back partial (`JobRecord.isPartial`): only their listing fields are decoded.
    public struct Loaded: Sendable {
        public var record: JobRecord
        public var json: Data?
        /// Whether it came from the archive rather than its own snapshot file.
        public var isArchived = false
    }

    /// `loadAll`, keeping each record's JSON text (see `Loaded`).
    public func loadSnapshots() -> [Loaded] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".tmp") {
            // A write that a crash interrupted before its rename: the previous file is still whole.
            unlink(directory + "/" + name)
        }
        let archived = archive.load()
        let files = names.filter { name in
            guard name.hasSuffix(".json") else { return false }
            guard let key = Self.runKey(ofFileName: name), archive.holds(key) else { return true }
            unlink(directory + "/" + name)  // archived just before a crash
            return false
        }
        // Decoding dominates start-up with many records: spread it over the cores.
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, files.count / 1000 + 1))
        let results = Mutex<(records: [Loaded], failures: [(String, any Error)])>(([], []))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var records: [Loaded] = []
            var failures: [(String, any Error)] = []
            for index in stride(from: worker, to: files.count, by: workers) {
                let name = files[index]
                do {
                    guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                        throw StoreError.unreadable(file: name, reason: "cannot read the file")
                    }
                    let loaded =
                        if let partial = JobRecord.partial(fromSnapshot: data, version: Self.schemaVersion) {
                            Loaded(record: partial.record, json: partial.text)
                        } else {
                            Loaded(record: try Self.decode(data, file: name), json: Self.recordText(of: data))
                        }
                    if Self.runKey(ofFileName: name) == nil, archive.holds(loaded.record.runKey) {
                        unlink(directory + "/" + name)  // archived just before a crash
                    } else {
                        records.append(loaded)
                    }
                } catch {
                    failures.append((name, error))
                }
            }
            results.withLock {
                $0.records += records
                $0.failures += failures
            }
        }
        let (records, failures) = results.withLock { ($0.records, $0.failures) }
        for (name, error) in failures { quarantine(name, because: error) }
        var all: [Loaded] = []
        all.reserveCapacity(archived.count + records.count)
        for entry in archived { all.append(Loaded(record: entry.record, json: entry.text, isArchived: true)) }
        all += records
        return all
    }

    private func quarantine(_ name: String, because error: any Error) {
        let target = quarantineDirectory + "/" + name + "." + String(Int(Date().timeIntervalSince1970))
        do {
            try DataDirectory.makePrivateDirectory(quarantineDirectory)
            try FileManager.default.moveItem(atPath: directory + "/" + name, toPath: target)
            logger.warning(
                "quarantined a snapshot file",
                metadata: ["file": "\(name)", "moved_to": "\(target)", "reason": "\(error)"])
        } catch let moveError {
            logger.error(
                "could not quarantine a snapshot file", metadata: ["file": "\(name)", "error": "\(moveError)"])
        }
    }

    static func encode(_ record: JobRecord) throws -> Data {
        JSONValue.object(["version": .int(Int64(schemaVersion)), "record": record.json(now: Date())]).serialized()
    }

    private static let prefix = Data(#"{"record":"#.utf8)
    private static let suffix = Data(#","version":\#(schemaVersion)}"#.utf8)

    /// The record's JSON text inside a snapshot file in jobgate's canonical layout, else nil.
    static func recordText(of data: Data) -> Data? {
        guard data.count > prefix.count + suffix.count, data.starts(with: prefix), data.suffix(suffix.count) == suffix
        else { return nil }
        return data.subdata(in: (data.startIndex + prefix.count)..<(data.endIndex - suffix.count))
    }

    static func decode(_ data: Data, file: String) throws -> JobRecord {
        let document: JSONValue
        do {
            document = try JSONValue.parse(data)
        } catch {
            throw StoreError.unreadable(file: file, reason: "\(error)")
        }
        let version = document["version"]?.intValue.map(Int.init)
        guard version == schemaVersion else { throw StoreError.unknownVersion(file: file, version: version) }
        do {
            return try JobRecord(json: document["record"] ?? .null)
        } catch {
            throw StoreError.unreadable(file: file, reason: "\(error)")
        }
    }

}
