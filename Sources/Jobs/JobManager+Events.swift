import Foundation
import JSON
import JobModel
import QMP

extension JobManager {
    // MARK: - Reads with a round trip

    /// Refreshes job `id` from `query-jobs` and `query-block-jobs` and returns the record. Concurrent callers
    /// share one pair of queries (`sharedRefresh`), which refreshes every live job.
    /// - Throws: `JobError.unknownJob`; engine trouble is not an error here: the stored record is returned.
    public func refresh(_ id: String) async throws -> JobRecord {
        try requireRestored()
        guard let record = book.record(id) else { throw JobError.unknownJob(id) }
        if record.status != .null {
            do {
                try await sharedRefresh()
            } catch {
                logger.debug("refresh from engine failed; answering from the record", metadata: ["error": "\(error)"])
            }
        }
        return book.record(id) ?? record
    }

    /// `refreshFromEngine()` once for all who ask meanwhile: a caller that finds a refresh under way waits for
    /// that one instead of sending its own queries.
    func sharedRefresh() async throws {
        if let inFlight = refreshInFlight { return try await inFlight.value }
        let refresh = Task { try await self.refreshFromEngine() }
        refreshInFlight = refresh
        defer { refreshInFlight = nil }
        try await refresh.value
    }

    /// Copies progress and block-job fields from the engine into the records (all jobs, or only `id`), and takes
    /// a progress sample for the rates. Statuses are left to events, which are ordered; a query answer may be
    /// older than the last event applied.
    func refreshFromEngine(only id: String? = nil) async throws {
        let jobs = try await engine.execute("query-jobs", arguments: nil).arrayValue ?? []
        let blockJobs = try await engine.execute("query-block-jobs", arguments: nil).arrayValue ?? []
        let now = Date()
        var blockInfo: [String: JSONValue] = [:]
        for info in blockJobs {
            if let device = info["device"]?.stringValue { blockInfo[device] = info }
        }
        var progress: [JobEvent] = []
        var sampled: [String] = []
        for info in jobs {
            guard let jobID = info["id"]?.stringValue, id == nil || jobID == id,
                let record = latest(jobID), record.status != .null,
                // An answer from before a status change that events applied meanwhile is out of date.
                info["status"]?.stringValue == record.status.rawValue
            else { continue }
            let before = record
            var updated = record
            updated.apply(jobInfo: info)
            if let block = blockInfo[jobID] { updated.apply(blockJobInfo: block) }
            updated.sampleProgress(at: now)
            if updated != before { publish(updated, durably: updated.error != before.error) }
            sampled.append(jobID)
            if let event = progressEvent(for: updated, at: now) { progress.append(event) }
        }
        emitProgress(progress)
        samples.record(sampled, at: now, live: book.liveIDs)
    }

    /// After (re)connecting: attach the nodes again if jobgate replaced the engine, adopt every job the engine has,
    /// refresh them, and close the records of jobs that are gone from it: concluded with the reason when the engine
    /// was replaced, "outcome unknown" otherwise.
    func reconcile() async {
        if status.snapshot.replacedEngineBecause != nil, let nodes {
            await nodes.reattach(logger: logger)
        }
        do {
            let jobs = try await engine.execute("query-jobs", arguments: nil).arrayValue ?? []
            let now = Date()
            var live = Set<String>()
            for info in jobs {
                guard let id = info["id"]?.stringValue,
                    let status = info["status"]?.stringValue.flatMap(JobStatus.init(rawValue:))
                else { continue }
                live.insert(id)
                if let record = latest(id), record.status != .null {
                    checkTransition(of: id, from: record.status, to: status, source: "query-jobs after reconnecting")
                    var updated = record
                    updated.enter(status, at: now)
                    updated.apply(jobInfo: info)
                    publish(updated, durably: true)
                } else {
                    var record = JobRecord(id: id, type: nil, status: status, createdAt: now)
                    record.run = nextRunNumber(of: id)
                    record.apply(jobInfo: info)
                    publishNewRun(record)
                }
            }
            let replacedBecause = status.snapshot.replacedEngineBecause
            for record in activeRecords() where !live.contains(record.id) {
                change(record.id, durably: true) {
                    $0.closeAfterVanishing(engineReplacedBecause: replacedBecause, at: now)
                }
                if let closed = book.record(record.id) {
                    checkTransition(
                        of: record.id, from: record.status, to: closed.status, source: "jobgate closing a vanished job")
                }
                logger.warning(
                    "job vanished from the engine",
                    metadata: ["job_id": "\(record.id)", "engine_replaced": "\(replacedBecause ?? "no")"])
            }
            try await refreshFromEngine()
            logger.info("reconciled with the engine", metadata: ["live_jobs": "\(live.count)"])
        } catch {
            logger.error("reconciling with the engine failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Events

    /// Applies one engine event without waiting for anything.
    /// - Returns: the id of a job to refresh from `query-jobs` afterwards (a create/amend/snapshot-* job that
    ///   concluded: they report their error only there), or nil.
    func applyWithoutWaiting(_ event: QMPEvent) -> String? {
        guard let id = StatusMachine.subject(ofEvent: event.name, data: event.data) else { return nil }
        if event.name == "JOB_STATUS_CHANGE" {
            guard let next = event.data["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)) else { return nil }
            apply(status: next, to: id, at: event.timestamp)
            // The fdsets made for a job, and those of nodes its end removed, go with it.
            if next == .concluded || next == .null { confinement.descriptors.sweepSoon() }
            if next == .concluded, let type = latest(id)?.type, !type.isBlockJob { return id }
            return nil
        }
        if let record = latest(id),
            let changed = StatusMachine.applying(
                blockJobEvent: event.name, data: event.data, at: event.timestamp, to: record)
        {
            publish(changed, durably: false)
        }
        emitEngineEvent(event, job: id)
        return nil
    }

    /// Keeps the jobs a refused command created and rolled back (QEMU emits `created` ... `null` for them, and
    /// each event goes to the stream like any other) as records marked refused, with QEMU's `reason`: now, for
    /// those whose events made a record already, or at their `created` (`pendingRefusals`).
    func noteRefusal(of ids: [String], since start: Date, reason: String) {
        for id in ids {
            if let record = latest(id), record.createdAt >= start, !record.refused {
                change(id, durably: true) { $0.markRefused(because: reason) }
            } else {
                pendingRefusals[id] = PendingRefusal(
                    reason: reason, type: creations[id]?.type, request: creations[id]?.request, noted: Date())
            }
        }
    }

    /// Applies a `JOB_STATUS_CHANGE`: on disk before it is visible. `StatusMachine` decides; this carries it out.
    func apply(status next: JobStatus, to id: String, at time: Date) {
        let context = StatusMachine.Context(
            creation: creations[id], refusal: pendingRefusals[id], nextRun: nextRunNumber(of: id))
        let current = latest(id)
        switch StatusMachine.step(current: current, next: next, id: id, at: time, context: context) {
        case .newRun(let record):
            if record.refused { pendingRefusals[id] = nil }
            publishNewRun(record)
        case .enter(let status, let outsideTable):
            if outsideTable { reportOutsideTable(id, from: current!.status, to: status, source: "JOB_STATUS_CHANGE") }
            change(id, durably: true) { $0.enter(status, at: time) }
        case .ignore:
            // Gone is final; a job of this id that QEMU still reports starts with `created` (a new run).
            logger.warning(
                "status change for a job that is gone", metadata: ["job_id": "\(id)", "to": "\(next.rawValue)"])
        }
    }

    /// The transition gate for the changes `StatusMachine` does not decide (a `query-jobs` answer after
    /// reconnecting, jobgate closing a job the engine lost): each is checked against QEMU's transition table by
    /// the same rule (`StatusMachine.isOutsideTable`), and one outside it is reported as events' are. It is applied
    /// anyway: QEMU's word (or the engine's loss) is what happened.
    func checkTransition(of id: String, from current: JobStatus, to next: JobStatus, source: String) {
        guard StatusMachine.isOutsideTable(current, next) else { return }
        reportOutsideTable(id, from: current, to: next, source: source)
    }

    /// Reports a status change outside QEMU's transition table (`StatusMachine.isOutsideTable`).
    private func reportOutsideTable(_ id: String, from current: JobStatus, to next: JobStatus, source: String) {
        logger.warning(
            "status change outside QEMU's transition table",
            metadata: [
                "job_id": "\(id)", "from": "\(current.rawValue)", "to": "\(next.rawValue)", "source": "\(source)",
            ])
    }
}
