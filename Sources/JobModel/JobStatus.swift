/// QAPI `JobStatus` (`qapi/job.json`, checked against QEMU 7.2 and 10.1.3). Raw values are the QMP wire strings.
///
/// `undefined` is never visible on the wire; `null` is the status a job announces just before QEMU forgets it.
public enum JobStatus: String, CaseIterable, Codable, Sendable {
    case undefined, created, running, paused, ready, standby, waiting, pending, aborting, concluded, null
}

extension JobStatus {
    /// The statuses QEMU may move a job to from `self`: QEMU's `JobSTT` (job.c), identical from QEMU 3.0 to 10.1.
    ///
    /// `aborting -> aborting` is in QEMU's table (re-applying the error status during finalize) but never produces
    /// an event, because QEMU emits `JOB_STATUS_CHANGE` only for real changes.
    public var successors: Set<JobStatus> {
        switch self {
        case .undefined: [.created]
        case .created: [.running, .aborting, .null]
        case .running: [.paused, .ready, .waiting, .aborting]
        case .paused: [.running]
        case .ready: [.standby, .waiting, .aborting]
        case .standby: [.ready]
        case .waiting: [.pending, .aborting]
        case .pending: [.aborting, .concluded]
        case .aborting: [.aborting, .concluded]
        case .concluded: [.null]
        case .null: []
        }
    }

    /// Whether QEMU's transition table allows moving from `self` to `next`.
    public func canTransition(to next: JobStatus) -> Bool {
        successors.contains(next)
    }

    /// QEMU's `job_is_ready`: the job converged and waits for `complete` (mirror, active commit).
    public var isReady: Bool { self == .ready || self == .standby }

    /// QEMU's `job_is_completed`: the job's work is over, whatever its outcome.
    public var isCompleted: Bool {
        switch self {
        case .waiting, .pending, .aborting, .concluded, .null: true
        default: false
        }
    }

    /// The job has left QEMU's job list (or is about to): nothing can be done with it any more.
    public var isGone: Bool { self == .null }
}
