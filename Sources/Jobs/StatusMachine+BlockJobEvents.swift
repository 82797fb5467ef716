import Foundation
import JSON
import JobModel

extension StatusMachine {
    /// The job an engine event is about: QEMU names it `id` in `JOB_STATUS_CHANGE` and `BLOCK_JOB_PENDING`, and
    /// `device` in the other `BLOCK_JOB_*` events (qapi/block-core.json); nil for other events.
    static func subject(ofEvent name: String, data: JSONValue) -> String? {
        switch name {
        case "JOB_STATUS_CHANGE", "BLOCK_JOB_PENDING": data["id"]?.stringValue
        case "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_READY", "BLOCK_JOB_ERROR":
            data["device"]?.stringValue
        default: nil
        }
    }

    /// What a `BLOCK_JOB_*` event changes in its job's record: the figures `BLOCK_JOB_COMPLETED`,
    /// `BLOCK_JOB_CANCELLED` and `BLOCK_JOB_READY` carry (`offset`, `len`, `speed`, `error`; a cancellation
    /// without an error reads "Operation canceled", as QEMU's job-cancel leaves it), or the I/O error
    /// `BLOCK_JOB_ERROR` reports. nil for an event that changes no record (`BLOCK_JOB_PENDING`, and anything else);
    /// the event itself goes to the stream either way. Never durable by itself: the status change that follows is.
    static func applying(blockJobEvent name: String, data: JSONValue, at time: Date, to record: JobRecord)
        -> JobRecord?
    {
        var record = record
        switch name {
        case "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_READY":
            if let offset = data["offset"]?.intValue { record.currentProgress = offset }
            if let length = data["len"]?.intValue { record.totalProgress = length }
            if let speed = data["speed"]?.intValue { record.speed = speed }
            if let error = data["error"]?.stringValue { record.error = error }
            if name == "BLOCK_JOB_CANCELLED" && record.error == nil { record.error = "Operation canceled" }
            record.updatedAt = time
        case "BLOCK_JOB_ERROR":
            record.lastIOError = JobRecord.IOErrorReport(
                operation: data["operation"]?.stringValue ?? "", action: data["action"]?.stringValue ?? "", at: time)
        default:
            return nil
        }
        return record
    }
}
