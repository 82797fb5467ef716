import Foundation
import JSON

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
    /// Which run of this id (ids are reused after dismissal, as in QEMU): 1 for the first.
    public var run: Int = 1
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
    /// A verb applied through jobgate: which, by whom (a token's name), when.
    public struct VerbEntry: Sendable, Equatable {
        public var verb: String
        public var by: String
        public var at: Date
        public init(verb: String, by: String, at: Date) {
            self.verb = verb
            self.by = by
            self.at = at
        }
    }

    public var lastIOError: IOErrorReport?

    /// The body of the `POST /jobs` that created the job, if jobgate created it.
    public var request: JSONValue?
    /// The name of the token that created the job, when tokens are on (never the token).
    public var createdBy: String?
    /// QEMU created this job inside a command it refused (a transaction failing after a backup action, or with an
    /// `abort` action), then rolled it back; `error` is QEMU's reason for refusing the command.
    public var refused = false
    /// The verbs applied through jobgate with tokens on, in order.
    public var verbHistory: [VerbEntry] = []
    public var statusHistory: [StatusEntry] = []
    public var createdAt: Date
    public var updatedAt: Date
    /// The statistics frozen when the job ended (concluded, or vanished); nil while it lives.
    public var finalStats: JobStats?
    /// Recent (time, bytes done) samples for the recent rate; kept in memory only.
    public var progressSamples: [ProgressSample] = []
    /// True for a finished record loaded at start-up without its body (history, request, block-job fields):
    /// its JSON text is served from disk as stored, and it is never written back.
    public var isPartial = false

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

    /// `<id>~<run>`: names one run of a job (its snapshot file, its archive entry). `~` cannot occur in a job id.
    public var runKey: String { "\(id)~\(run)" }

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
        if next == .concluded || (next == .null && finalStats == nil) { freezeStats(at: time) }
    }

    /// Notes the progress at `time`, for the recent rate (the last 10 seconds are kept).
    public mutating func sampleProgress(at time: Date) {
        if let last = progressSamples.last, last.bytes == currentProgress, time.timeIntervalSince(last.at) < 1 {
            return
        }
        progressSamples.append(ProgressSample(at: time, bytes: currentProgress))
        progressSamples.removeAll { time.timeIntervalSince($0.at) > 10 }
    }
}
