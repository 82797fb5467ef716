import Foundation
import JobModel
import Store

extension JobManager {
    /// Applies `body` to the current record of `id` and publishes the result (see `publish`).
    /// - Returns: the new record, or nil if there is none for `id`.
    @discardableResult
    func change(_ id: String, durably: Bool, _ body: (inout JobRecord) -> Void) -> JobRecord? {
        guard var record = latest(id) else { return nil }
        body(&record)
        publish(record, durably: durably)
        return record
    }

    /// Makes `record` the current state of its run. `durably`: it is in the journal first, and only then
    /// visible (status changes, creations); otherwise it is visible at once and checkpointed within about a second
    /// (progress). A status change is announced as an event once it is visible. Within a batch of engine events
    /// this is staged and published with the batch (`commitStaged`); otherwise at once, as a batch of one.
    /// - Returns: false if it is held back because the data directory fails (outside a batch only).
    @discardableResult
    func publish(_ record: JobRecord, durably: Bool) -> Bool {
        guard !record.isPartial else {
            // A partial record stands for a finished file on disk; writing it back would lose its body.
            logger.error("refusing to change a finished record", metadata: ["job_id": "\(record.id)"])
            return true
        }
        let previous = latest(record.id)
        let announcing = durably && previous?.status != record.status
        JobMetrics.observe(record, previous: previous)
        return stage(.put(record, announcing: announcing), of: record, durably: durably)
    }

    /// Publishes the first state of a new run (durably), announced as an event.
    /// - Returns: false if it is held back because the data directory fails (outside a batch only).
    @discardableResult
    func publishNewRun(_ record: JobRecord) -> Bool {
        stage(.begin(record), of: record, durably: true)
    }

    /// The `JOB_STATUS_CHANGE` of `record`'s latest status.
    func statusChangeEvent(_ eventID: EventID, _ record: JobRecord) -> JobEvent {
        JobEvent(
            id: eventID, name: "JOB_STATUS_CHANGE", job: record.id, jobType: record.type,
            data: ["id": .string(record.id), "status": .string(record.status.rawValue)],
            at: record.statusHistory.last?.at ?? record.updatedAt)
    }

    /// Forgets runs: at once in memory, in the journal (so a replay does not bring them back), and on disk with
    /// the next checkpoint (removing many archived records rewrites each segment once).
    func forget(_ records: [JobRecord]) {
        guard !records.isEmpty else { return }
        for record in records { book.remove(record) }
        events.jobsForgotten(Set(records.map(\.id)).filter { book.record($0) == nil })
        do {
            let lsn =
                try eventJournal?.append(changes: records.map { .forget($0.runKey) }, events: [], durable: true) ?? 0
            store?.checkpoint([], forgetting: records, through: lsn)
        } catch {
            // Still deleted with the next checkpoint; a crash before it brings them back until retention runs.
            store?.checkpoint([], forgetting: records, through: 0)
            noteStorageFailure(error)
        }
    }

    /// Loads the records (call once, before the engine connects): the last checkpoint (record files and archive),
    /// then the journal's record lines after it, replayed in order; then applies retention as of `now`. What was
    /// replayed is checkpointed at once.
    public func restore(now: Date = Date()) {
        guard let store else {
            book.markRestored()
            return
        }
        let start = ContinuousClock.now
        let replay =
            eventJournal?.load(eventLimit: events.configuration.history, checkpoint: store.checkpointLSN)
            ?? EventJournal.Replay()
        events.load(replay.events.compactMap(JobEvent.init(journalEntry:)))
        var snapshots = store.loadSnapshots()
        let loaded = ContinuousClock.now
        let (replayed, forgotten) = SnapshotStore.replay(replay.entries, onto: &snapshots)
        book.restore(snapshots.lazy.map { ($0.record, $0.json) })
        if !replayed.isEmpty || !forgotten.isEmpty {
            store.checkpoint(replayed, forgetting: forgotten, through: eventJournal?.lastLSN ?? 0)
            store.flush()
        }
        prune(now: now)
        let loose = snapshots.filter { !$0.isArchived && $0.record.isPartial }
        if !loose.isEmpty {
            // Finished records still in files of their own (an earlier jobgate's layout): archive them while
            // jobgate serves, so the next start reads a few files instead of one per record.
            Task.detached(priority: .background) { store.archiveLooseRecords(loose) }
        }
        logger.info(
            "job records restored",
            metadata: [
                "records": "\(snapshots.count)", "replayed": "\(replayed.count)", "load": "\(loaded - start)",
                "index": "\(ContinuousClock.now - loaded)",
            ])
    }

    /// Drops finished records beyond the retention policy (oldest first).
    func prune(now: Date) {
        lastPruned = now
        guard !retention.isUnlimited else { return }
        forget(retention.expired(book.finishedRuns(), now: now).compactMap { book.record($0.id, run: $0.run) })
    }
}

extension JobManager {
    /// While jobs live, samples their progress from the engine every `interval` (for the rates and ETA, and
    /// coalesced progress writes), and applies retention about once a minute. Returns when cancelled.
    /// - Parameter clock: what the interval is measured by.
    public func pollProgress(every interval: Duration = .milliseconds(500), clock: any TimerClock = SystemClock())
        async
    {
        while !Task.isCancelled {
            try? await clock.sleep(for: interval)
            if Task.isCancelled { break }
            retryStorage()
            if book.hasLiveJobs && status.snapshot.isConnected && held == nil {
                try? await refreshFromEngine()
            }
            let now = Date()
            if now.timeIntervalSince(lastPruned) >= 60 || retention.isOverrun(count: book.count) { prune(now: now) }
            if !pendingRefusals.isEmpty {
                pendingRefusals = pendingRefusals.filter { now.timeIntervalSince($0.value.noted) < 60 }
            }
        }
        store?.flush()
    }
}
