import Foundation
import JobModel
import QMP
import Store

/// Changes staged while a batch of engine events is applied, published together by `commitStaged`.
///
/// A burst of events (the drain pairs a new job causes, the last events of jobs that end together) is made
/// durable with one journal write and one fdatasync (the journal is the write-ahead log); the order of changes and
/// events is kept, and nothing is visible or sent before it is on disk. While the data directory fails, batches
/// are appended to the changes held back (`JobManager.held`) and published, in order, once they are durable.
struct StagedChanges {
    enum Step {
        /// `JobBook.put`; `announcing`: a status change, with its event.
        case put(JobRecord, announcing: Bool)
        /// `JobBook.begin`: a new run, with its event.
        case begin(JobRecord)
        /// An event that changes no record, made once its id is known.
        case event(@Sendable (EventID) -> JobEvent)
    }

    var steps: [Step] = []
    /// The latest staged state of each job (by id), which the rest of the batch must see.
    var latest: [String: JobRecord] = [:]
    /// The latest staged state of each run (by `id~run`): what the checkpoint writes.
    var runs: [String: JobRecord] = [:]
    /// The runs whose latest state must be in the journal before the batch is published (status changes,
    /// creations; not progress).
    var durableRuns: Set<String> = []

    mutating func stage(_ step: Step, of record: JobRecord?, durably: Bool) {
        steps.append(step)
        guard let record else { return }
        latest[record.id] = record
        runs[record.runKey] = record
        if durably { durableRuns.insert(record.runKey) }
    }

    /// While held: at most this many `BLOCK_JOB_*` events are kept; older ones beyond it are dropped (status
    /// changes never are: they are bounded by what the jobs QEMU runs can still do, as nothing new is accepted).
    static let heldEventLimit = 10_000

    /// Appends a later batch (changes held back): its steps follow, its states replace. A progress-only state that
    /// a later step of the same run supersedes is dropped, so holding costs memory per status change, not per
    /// sampling; beyond `heldEventLimit` events the oldest are dropped.
    /// - Returns: how many events were dropped.
    @discardableResult
    mutating func append(_ later: StagedChanges) -> Int {
        let superseded = Set(later.steps.compactMap(\.runKey))
        steps.removeAll { step in
            if case .put(let record, announcing: false) = step { return superseded.contains(record.runKey) }
            return false
        }
        steps += later.steps
        var dropped = 0
        var events = steps.lazy.filter(\.isEvent).count
        if events > Self.heldEventLimit {
            steps.removeAll { step in
                guard step.isEvent, events > Self.heldEventLimit else { return false }
                events -= 1
                dropped += 1
                return true
            }
        }
        latest.merge(later.latest) { _, newer in newer }
        runs.merge(later.runs) { _, newer in newer }
        durableRuns.formUnion(later.durableRuns)
        return dropped
    }
}

extension StagedChanges.Step {
    /// The run the step changes, if any.
    var runKey: String? {
        switch self {
        case .put(let record, _), .begin(let record): record.runKey
        case .event: nil
        }
    }

    var isEvent: Bool {
        if case .event = self { return true }
        return false
    }
}

extension JobManager {
    /// The job's record as the manager sees it: staged changes first, then those held back, then the book.
    func latest(_ id: String) -> JobRecord? {
        staged?.latest[id] ?? held?.latest[id] ?? book.record(id)
    }

    /// The current records QEMU may still have (any status but `null`), staged and held changes included.
    func activeRecords() -> [JobRecord] {
        var records: [String: JobRecord] = [:]
        for record in book.activeRecords() { records[record.id] = record }
        for pending in [held, staged] {
            for (id, record) in pending?.latest ?? [:] { records[id] = record }
        }
        return records.values.filter { $0.status != .null }
    }

    /// The run number a new run of `id` gets, staged and held runs included.
    func nextRunNumber(of id: String) -> Int {
        (staged?.latest[id] ?? held?.latest[id]).map { $0.run + 1 } ?? book.nextRun(of: id)
    }

    /// Adds a step to the batch under way, or, outside a batch, publishes it at once as a batch of one.
    /// `record`: the state the step makes current (nil for an event that changes no record).
    /// - Returns: false if the step is held back because the data directory fails (outside a batch only).
    @discardableResult
    func stage(_ step: StagedChanges.Step, of record: JobRecord?, durably: Bool) -> Bool {
        let immediate = staged == nil
        if immediate { staged = StagedChanges() }
        staged!.stage(step, of: record, durably: durably)
        return immediate ? commitStaged() : true
    }

    /// Applies a batch of engine signals with their changes staged, then publishes them at once; a reconnect and
    /// the refreshes some events ask for run between (they wait for the engine, and publish as usual).
    func apply(_ batch: [QMPSignal]) async {
        var refresh: [String] = []
        staged = StagedChanges()
        for signal in batch {
            switch signal {
            case .event(let event):
                if let id = applyWithoutWaiting(event) { refresh.append(id) }
            case .connected:
                commitStaged()
                await reconcile()
                staged = StagedChanges()
            case .disconnected:
                break
            }
        }
        commitStaged()
        for id in refresh { try? await refreshFromEngine(only: id) }
    }

    /// Publishes the staged changes after those held back (see `commitHeld`).
    /// - Returns: whether they are durable and published; false while the data directory fails.
    @discardableResult
    func commitStaged() -> Bool {
        guard let changes = staged else { return held == nil }
        staged = nil
        guard !changes.steps.isEmpty else { return held == nil }
        if held == nil {
            held = changes
        } else if case let dropped = held!.append(changes), dropped > 0 {
            logger.warning(
                "dropped engine events held while the data directory fails", metadata: ["dropped": "\(dropped)"])
        }
        return commitHeld()
    }

    /// Makes the held changes durable with one journal append and one fdatasync (the new state of each run
    /// that must be durable, then the events with the ids they will have), then makes them visible in order, sends
    /// their events, and hands the new states to the checkpoint. If the journal cannot take them, they stay held,
    /// invisible and unsent, and the data directory is marked failing.
    /// - Returns: whether nothing is held any more.
    @discardableResult
    func commitHeld() -> Bool {
        guard let changes = held else { return true }
        // The ids the events will have once published (only this actor hands out ids, so they are known now).
        let epoch = book.epoch
        var sequence = book.currentEventID.sequence
        func nextID() -> EventID {
            sequence += 1
            return EventID(epoch: epoch, sequence: sequence)
        }
        let eventIDs: [EventID?] = changes.steps.map { step in
            switch step {
            case .put(_, let announcing): announcing ? nextID() : nil
            case .begin, .event: nextID()
            }
        }
        var events: [JobEvent] = []
        for (step, eventID) in zip(changes.steps, eventIDs) {
            guard let eventID else { continue }
            switch step {
            case .put(let record, _), .begin(let record): events.append(statusChangeEvent(eventID, record))
            case .event(let make): events.append(make(eventID))
            }
        }
        let now = Date()
        let lsn: UInt64
        do {
            lsn =
                try eventJournal?.append(
                    changes: changes.durableRuns.compactMap { changes.runs[$0] }.map { journalChange($0, now: now) },
                    events: events.map(\.journalEntry), durable: true) ?? 0
        } catch {
            noteStorageFailure(error)
            logger.debug("holding engine changes", metadata: ["steps": "\(changes.steps.count)"])
            return false
        }
        held = nil
        for (step, eventID) in zip(changes.steps, eventIDs) {
            switch step {
            case .put(let record, _):
                book.put(record, eventID: eventID)
                if record.status == .concluded || record.status == .null { lastProgressEvent[record.id] = nil }
            case .begin(let record): book.begin(record, eventID: eventID!)
            case .event: book.note(eventID!)
            }
        }
        self.events.append(contentsOf: events)
        store?.checkpoint(Array(changes.runs.values), through: lsn)
        return true
    }

    /// How the journal keeps a run's new state: as its status changes since the state the book shows (the last
    /// durable one, published), when they give it exactly; else whole.
    private func journalChange(_ record: JobRecord, now: Date) -> EventJournal.Change {
        if let previous = book.record(record.id), let delta = record.delta(from: previous) {
            return .status(delta.json(runKey: record.runKey).serialized())
        }
        return .record(record.json(now: now).serialized())
    }

    /// A write to the data directory failed: marks it failing, and says so once per failure. Held changes are at
    /// most the events of the jobs QEMU still runs, since nothing new is accepted meanwhile.
    func noteStorageFailure(_ error: any Error) {
        if storage.fail(error) {
            logger.critical(
                "the data directory takes no durable writes: changes are refused (507) and engine events held until it does",
                metadata: ["data_dir": "\(storage.dataDirectory)", "error": "\(error)"])
        }
    }

    /// While the data directory fails: tries to write what is held, or a probe, then the pending checkpoint; once
    /// all succeed, jobgate acknowledges changes again. Called about twice a second by `pollProgress`.
    func retryStorage() {
        guard !storage.isHealthy else { return }
        if held != nil {
            guard commitHeld() else { return }
        } else {
            do {
                try eventJournal?.probe()
            } catch {
                storage.fail(error)
                return
            }
        }
        guard store?.flush() ?? true else { return }
        if let failure = storage.recover() {
            logger.notice(
                "the data directory takes durable writes again; changes are accepted",
                metadata: [
                    "data_dir": "\(storage.dataDirectory)",
                    "failed_for": "\(String(format: "%.1f", Date().timeIntervalSince(failure.since)))s",
                ])
        }
    }
}
