import Foundation

/// What jobgate knows about one job: QAPI `JobInfo` (`qapi/job.json`), the block-job fields of `BlockJobInfo`
/// (`qapi/block-core.json`) where QEMU reports them, the creation request, and when each status was entered.
///
/// Status changes come from `JOB_STATUS_CHANGE` events; progress and block-job fields from `query-jobs` /
/// `query-block-jobs` and the `BLOCK_JOB_*` events. `allowedVerbs` is derived from the status with QEMU's verb table.
public struct JobRecord: Sendable, Equatable {
    /// One entry per status the job entered, in order.
    public struct StatusEntry: Sendable, Equatable {
        public var status: JobStatus
        public var at: Date
        public init(status: JobStatus, at: Date) {
            self.status = status
            self.at = at
        }
    }

    /// The last I/O error decision QEMU reported (`BLOCK_JOB_ERROR`).
    public struct IOErrorReport: Sendable, Equatable {
        public var operation: String
        public var action: String
        public var at: Date
        public init(operation: String, action: String, at: Date) {
            self.operation = operation
            self.action = action
            self.at = at
        }
    }

    public var id: String
    /// Nil only briefly, for a job first seen through an event before `query-jobs` told its type.
    public var type: JobType?
    public var status: JobStatus
    public var currentProgress: Int64 = 0
    public var totalProgress: Int64 = 0
    public var error: String?

    public var speed: Int64?
    public var busy: Bool?
    public var paused: Bool?
    public var ready: Bool?
    public var ioStatus: String?
    public var autoFinalize: Bool?
    public var autoDismiss: Bool?
    public var lastIOError: IOErrorReport?

    /// The body of the `POST /jobs` that created the job, if jobgate created it.
    public var request: JSONValue?
    public var statusHistory: [StatusEntry] = []
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, type: JobType?, status: JobStatus, createdAt: Date) {
        self.id = id
        self.type = type
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.statusHistory = [StatusEntry(status: status, at: createdAt)]
    }

    /// The verbs QEMU's verb table allows in the current status.
    public var allowedVerbs: [JobVerb] { JobVerb.allowed(in: status) }

    /// Records a status change at `time`; a repeat of the current status is ignored, as QEMU never emits one.
    public mutating func enter(_ next: JobStatus, at time: Date) {
        guard next != status else { return }
        status = next
        statusHistory.append(StatusEntry(status: next, at: time))
        updatedAt = time
        if next.isReady { ready = true }
        if next == .paused || next == .standby { paused = true }
        if next == .running || next == .ready { paused = false }
        if next.isCompleted { busy = false }
    }
}

extension JobRecord: Encodable {
    private enum CodingKeys: String, CodingKey {
        case id, type, status
        case currentProgress = "current-progress"
        case totalProgress = "total-progress"
        case error
        case allowedVerbs = "allowed-verbs"
        case speed, busy, paused, ready
        case ioStatus = "io-status"
        case autoFinalize = "auto-finalize"
        case autoDismiss = "auto-dismiss"
        case lastIOError = "last-io-error"
        case request
        case statusHistory = "status-history"
        case createdAt = "created-at"
        case updatedAt = "updated-at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(status, forKey: .status)
        try container.encode(currentProgress, forKey: .currentProgress)
        try container.encode(totalProgress, forKey: .totalProgress)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encode(allowedVerbs, forKey: .allowedVerbs)
        try container.encodeIfPresent(speed, forKey: .speed)
        try container.encodeIfPresent(busy, forKey: .busy)
        try container.encodeIfPresent(paused, forKey: .paused)
        try container.encodeIfPresent(ready, forKey: .ready)
        try container.encodeIfPresent(ioStatus, forKey: .ioStatus)
        try container.encodeIfPresent(autoFinalize, forKey: .autoFinalize)
        try container.encodeIfPresent(autoDismiss, forKey: .autoDismiss)
        if let report = lastIOError {
            let value: JSONValue = [
                "operation": .string(report.operation), "action": .string(report.action),
                "at": .string(Timestamp.format(report.at)),
            ]
            try container.encode(value, forKey: .lastIOError)
        }
        try container.encodeIfPresent(request, forKey: .request)
        let history: [JSONValue] = statusHistory.map {
            ["status": .string($0.status.rawValue), "at": .string(Timestamp.format($0.at))]
        }
        try container.encode(history, forKey: .statusHistory)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try container.encode(Timestamp.format(updatedAt), forKey: .updatedAt)
    }
}
