import Foundation
import JobModel

#if canImport(Glibc)
    import Glibc
#endif

extension SnapshotStore {
    /// What the next checkpoint writes: the latest state of each run handed over, the runs to delete, and the log
    /// sequence number through which the handed-over states cover the journal.
    struct Pending {
        /// By file name.
        var records: [String: JobRecord] = [:]
        /// By file name.
        var removals: [String: JobRecord] = [:]
        var through: UInt64 = 0
        /// A flush is queued.
        var scheduled = false
    }

    /// Hands over the new states of runs (and runs to delete) whose journal lines go through `lsn`; the next
    /// checkpoint, about `flushDelay` from now, writes them and then records that the journal is covered through
    /// `lsn`. Called by `JobManager` after the journal append that made them durable; returns at once.
    /// - Parameter lsn: 0 (or anything not above the last) for states that are not in the journal (progress).
    public func checkpoint(_ records: [JobRecord], forgetting removed: [JobRecord] = [], through lsn: UInt64) {
        guard !records.isEmpty || !removed.isEmpty || lsn > 0 else { return }
        let schedule = pending.withLock { pending -> Bool in
            for record in records { pending.records[Self.fileName(of: record)] = record }
            for record in removed {
                let name = Self.fileName(of: record)
                pending.records[name] = nil
                pending.removals[name] = record
            }
            pending.through = max(pending.through, lsn)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if schedule {
            writer.async(after: .seconds(flushDelay)) { [self] in _ = flushOnWriter() }
        }
    }

    /// Hands over a state that is not in the journal (progress), for the next checkpoint.
    public func saveSoon(_ record: JobRecord) {
        checkpoint([record], through: 0)
    }

    /// The log sequence number the last durable checkpoint covers.
    public var checkpointLSN: UInt64 {
        checkpointed.withLock { $0 }
    }

    /// Writes the checkpoint now: the pending states (record files, archive appends), the deletions, then the
    /// marker saying how far the journal is covered. On failure what was taken is put back (unless a newer state
    /// came meanwhile) for the next try, and `health` is told. Called from the store's writer thread, from `JobManager`'s
    /// retry after a failure, and at shutdown; blocks for the writes, which run on the store's writer thread.
    /// - Returns: whether everything pending was written.
    @discardableResult
    public func flush() -> Bool {
        writer.sync { [self] in flushOnWriter() }
    }

    /// `flush`, on `writer`.
    private func flushOnWriter() -> Bool {
        let taken = pending.withLock { pending -> Pending in
            defer {
                pending.records = [:]
                pending.removals = [:]
                pending.scheduled = false
            }
            return pending
        }
        do {
            try write(Array(taken.records.values))
            try delete(Array(taken.removals.values))
            if taken.through > checkpointLSN {
                try AtomicFile.write(Data("\(taken.through)\n".utf8), to: markerPath)
                checkpointed.withLock { $0 = taken.through }
                journal?.noteCheckpoint(through: taken.through)
            }
            return true
        } catch {
            pending.withLock { pending in
                for (name, record) in taken.records where pending.records[name] == nil && pending.removals[name] == nil
                {
                    pending.records[name] = record
                }
                for (name, record) in taken.removals where pending.records[name] == nil {
                    pending.removals[name] = record
                }
            }
            if health?.fail(error) ?? true {
                logger.error(
                    "could not write a checkpoint of the job records; the journal holds them",
                    metadata: ["records": "\(taken.records.count)", "error": "\(error)"])
            }
            return false
        }
    }

    /// Applies the journal's lines after the checkpoint to the records it holds, in order: a record line replaces
    /// its run's state, a status line applies its changes to the run's state (the checkpoint's, or an earlier
    /// line's: the checkpoint never holds a state newer than a line after it), a forget line removes the run. An
    /// archived run is final and stays as it is.
    /// - Returns: the runs' replayed states, and the runs forgotten, for a checkpoint.
    public static func replay(
        _ entries: [EventJournal.Replay.Entry], onto snapshots: inout [Loaded]
    ) -> (replayed: [JobRecord], forgotten: [JobRecord]) {
        guard !entries.isEmpty else { return ([], []) }
        var position: [String: Int] = [:]
        for (index, loaded) in snapshots.enumerated() { position[loaded.record.runKey] = index }
        var replayed: [String: JobRecord] = [:]
        var forgotten: [String: JobRecord] = [:]
        for entry in entries {
            switch entry {
            case .record(let json):
                guard let record = try? JobRecord(json: json) else { continue }
                let key = record.runKey
                if let index = position[key] {
                    guard !snapshots[index].isArchived else { continue }
                    snapshots[index] = Loaded(record: record, json: nil)
                } else {
                    position[key] = snapshots.count
                    snapshots.append(Loaded(record: record, json: nil))
                }
                replayed[key] = record
                forgotten[key] = nil
            case .status(let json):
                guard let (key, delta) = JobRecord.StatusDelta.parse(json), let index = position[key],
                    !snapshots[index].isArchived
                else { continue }
                let record = snapshots[index].record.applying(delta)
                snapshots[index] = Loaded(record: record, json: nil)
                replayed[key] = record
            case .forget(let key):
                guard let index = position[key] else { continue }
                forgotten[key] = snapshots[index].record
                replayed[key] = nil
                position[key] = nil
                snapshots[index].record.run = -1  // removed below, keeping the other positions
            }
        }
        snapshots.removeAll { $0.record.run == -1 }
        return (Array(replayed.values), Array(forgotten.values))
    }

    var markerPath: String { directory + "/checkpoint" }

    /// The log sequence number in a checkpoint marker file (0 if there is none).
    static func readMarker(_ path: String) -> UInt64 {
        (try? String(contentsOfFile: path, encoding: .utf8))
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }
}
