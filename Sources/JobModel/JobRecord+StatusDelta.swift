import Foundation
import JSON

extension JobRecord {
    /// The status changes that took a record from one durable state to the next, as the journal keeps them
    /// instead of the whole record: the statuses entered (with their times) and the progress and error then.
    ///
    /// Replaying a delta onto the state it was made from (`applying`) gives the new state exactly; the journal
    /// uses one only when that holds (`delta(from:)`), and never for a change that freezes the stats (`concluded`,
    /// or `null` without it), since they come from samples kept in memory.
    public struct StatusDelta: Sendable, Equatable {
        public var entered: [StatusEntry]
        public var currentProgress: Int64
        public var totalProgress: Int64
        public var error: String?
    }

    /// The delta from `previous` (the same run's last durable state) to `self`, or nil when `self` is more than
    /// status changes away from it and must be journalled whole.
    public func delta(from previous: JobRecord) -> StatusDelta? {
        guard previous.runKey == runKey, !previous.isPartial, !isPartial,
            statusHistory.count > previous.statusHistory.count,
            Array(statusHistory.prefix(previous.statusHistory.count)) == previous.statusHistory
        else { return nil }
        let entered = Array(statusHistory.dropFirst(previous.statusHistory.count))
        // Entering `concluded` (or `null` without it) freezes the stats from samples a replay does not have.
        let freezes = entered.contains { $0.status == .concluded || ($0.status == .null && previous.finalStats == nil) }
        guard !freezes else { return nil }
        let delta = StatusDelta(
            entered: entered, currentProgress: currentProgress, totalProgress: totalProgress, error: error)
        return previous.applying(delta) == self ? delta : nil
    }

    /// This record with `delta` applied.
    public func applying(_ delta: StatusDelta) -> JobRecord {
        var record = self
        record.currentProgress = delta.currentProgress
        record.totalProgress = delta.totalProgress
        record.error = delta.error
        for entry in delta.entered { record.enter(entry.status, at: entry.at) }
        return record
    }
}

extension JobRecord.StatusDelta {
    /// The journal's form: `{"run":"<id>~<run>","entered":[{"status":..,"at":..}],"current-progress":..,...}`.
    public func json(runKey: String) -> JSONValue {
        var members: [String: JSONValue] = [
            "run": .string(runKey),
            "entered": .array(
                entered.map { ["status": .string($0.status.rawValue), "at": .string(Timestamp.format($0.at))] }),
            "current-progress": .int(currentProgress), "total-progress": .int(totalProgress),
        ]
        if let error { members["error"] = .string(error) }
        return .object(members)
    }

    /// Reads the journal's form; nil if it is not one.
    /// - Returns: the run key it applies to, and the delta.
    public static func parse(_ json: JSONValue) -> (runKey: String, delta: JobRecord.StatusDelta)? {
        guard let runKey = json["run"]?.stringValue, let current = json["current-progress"]?.intValue,
            let total = json["total-progress"]?.intValue, let list = json["entered"]?.arrayValue
        else { return nil }
        var entered: [JobRecord.StatusEntry] = []
        for item in list {
            guard let status = item["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)),
                let at = item["at"]?.stringValue.flatMap(Timestamp.parse)
            else { return nil }
            entered.append(JobRecord.StatusEntry(status: status, at: at))
        }
        return (
            runKey,
            JobRecord.StatusDelta(
                entered: entered, currentProgress: current, totalProgress: total, error: json["error"]?.stringValue)
        )
    }
}
