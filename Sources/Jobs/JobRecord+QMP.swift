import Foundation
import JSON
import JobModel

extension JobRecord {
    /// Copies the fields of a `query-jobs` entry (QAPI `JobInfo`), except the status, which events own.
    mutating func apply(jobInfo info: JSONValue) {
        if type == nil, let name = info["type"]?.stringValue { type = JobType(rawValue: name) }
        // QEMU's progress only grows within a job (`progress_work_done`); an answer older than the events applied
        // since (BLOCK_JOB_COMPLETED's final offset) must not move it back.
        if let current = info["current-progress"]?.intValue { currentProgress = max(currentProgress, current) }
        if let total = info["total-progress"]?.intValue { totalProgress = total }
        if let message = info["error"]?.stringValue, message != error {
            error = message
            // Non-block jobs report their error only through query-jobs, after they concluded.
            let ended = outcome
            finalStats?.error = message
            finalStats?.outcome = ended
        }
    }

    /// Copies the fields of a `query-block-jobs` entry (QAPI `BlockJobInfo`), except the status.
    mutating func apply(blockJobInfo info: JSONValue) {
        if let value = info["speed"]?.intValue { speed = value }
        if let value = info["busy"]?.boolValue { busy = value }
        if let value = info["paused"]?.boolValue { paused = value }
        if let value = info["ready"]?.boolValue { ready = value }
        if let value = info["io-status"]?.stringValue { ioStatus = value }
        if let value = info["auto-finalize"]?.boolValue { autoFinalize = value }
        if let value = info["auto-dismiss"]?.boolValue { autoDismiss = value }
        if let value = info["offset"]?.intValue { currentProgress = max(currentProgress, value) }
        if let value = info["len"]?.intValue { totalProgress = value }
    }
}

extension JobRecord {
    /// Marks a job that QEMU created inside a command it then refused, and rolled back: `reason` is QEMU's text for
    /// the refusal, and the outcome is `refused` whatever events the rollback sent (an `Operation canceled`).
    mutating func markRefused(because reason: String) {
        refused = true
        error = reason
        finalStats?.outcome = .refused
        finalStats?.error = reason
    }

    /// Closes a record whose job is no longer in the engine's job list.
    ///
    /// If the engine was replaced (it died, and jobgate started a new one), a live job ended with it: the record
    /// becomes `concluded` with an error saying so. Otherwise the job left while jobgate was not watching (it was
    /// dismissed, or concluded and auto-dismissed): its outcome is unknown, and the record says that rather than
    /// guess. A record already concluded keeps its outcome.
    mutating func closeAfterVanishing(engineReplacedBecause reason: String?, at time: Date) {
        if let reason, status != .concluded {
            error = error ?? "\(reason) while the job was \(status.rawValue); the job ended with it"
            enter(.concluded, at: time)
        } else if status != .concluded {
            error = error ?? "outcome unknown: the job left the engine while jobgate was not watching"
            enter(.null, at: time)
        } else {
            enter(.null, at: time)
        }
        busy = false
    }
}
