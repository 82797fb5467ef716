import JobModel

extension JobRecord {
    /// Copies the fields of a `query-jobs` entry (QAPI `JobInfo`), except the status, which events own.
    mutating func apply(jobInfo info: JSONValue) {
        if type == nil, let name = info["type"]?.stringValue { type = JobType(rawValue: name) }
        if let current = info["current-progress"]?.intValue { currentProgress = current }
        if let total = info["total-progress"]?.intValue { totalProgress = total }
        if let message = info["error"]?.stringValue { error = message }
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
