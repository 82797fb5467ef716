import Foundation
import JobModel
import QMP

/// Changes staged while a batch of engine events is applied, published together by `commitStaged`.
///
/// A burst of events (the drain pairs a new job causes, the last events of jobs that end together) would
/// otherwise cost one round of fsyncs per status change, one after the other, and every event would wait for all
/// those before it. Staged, each record touched is written once, with one directory fsync and one journal
/// fdatasync for the batch; the order of changes and events is kept, and nothing is visible or sent before it
/// is on disk.
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
    /// The latest state of each run that must be on disk before the batch is published (by `id~run`).
    var durable: [String: JobRecord] = [:]

    mutating func stage(_ step: Step, of record: JobRecord?, durably: Bool) {
        steps.append(step)
        guard let record else { return }
        latest[record.id] = record
        if durably || durable[record.runKey] != nil { durable[record.runKey] = record }
    }
}

extension JobManager {
    /// The job's record as the manager sees it: staged changes first, then the book.
    func latest(_ id: String) -> JobRecord? {
        staged?.latest[id] ?? book.record(id)
    }

    /// The run number a new run of `id` gets, staged runs included.
    func nextRunNumber(of id: String) -> Int {
        staged?.latest[id].map { $0.run + 1 } ?? book.nextRun(of: id)
    }

    /// Adds a step to the batch under way, or, outside a batch, publishes it at once as a batch of one.
    /// `record`: the state the step makes current (nil for an event that changes no record).
    func stage(_ step: StagedChanges.Step, of record: JobRecord?, durably: Bool) {
        let immediate = staged == nil
        if immediate { staged = StagedChanges() }
        staged!.stage(step, of: record, durably: durably)
        if immediate { commitStaged() }
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

    /// Makes the staged changes durable (each run's latest state, in one round of fsyncs), visible in order
    /// (taking their event ids), then journals and sends their events together.
    func commitStaged() {
        guard let changes = staged else { return }
        staged = nil
        guard !changes.steps.isEmpty else { return }
        if !changes.durable.isEmpty {
            do {
                try store?.saveAll(Array(changes.durable.values))
            } catch {
                // The changes happened in QEMU all the same; publish them, and say loudly that they are not durable.
                logger.critical(
                    "could not persist job records",
                    metadata: ["job_ids": "\(changes.durable.values.map(\.id).sorted())", "error": "\(error)"])
            }
        }
        var events: [JobEvent] = []
        for step in changes.steps {
            switch step {
            case .put(let record, let announcing):
                if let id = book.put(record, announcing: announcing) { events.append(statusChangeEvent(id, record)) }
                if changes.durable[record.runKey] == nil { store?.saveSoon(record) }
            case .begin(let record):
                events.append(statusChangeEvent(book.begin(record), record))
            case .event(let make):
                events.append(make(book.nextEventID()))
            }
        }
        emit(events, durable: true)
    }
}
