/// QAPI `JobVerb` (`qapi/job.json`): the commands a job may accept. Raw values are the wire strings QEMU uses
/// in its refusal message, and the path segment of `POST /jobs/{id}/{verb}`.
///
/// `change` exists in QEMU from 8.2 on (`block-job-change`); Debian 12's QEMU 7.2 lacks it.
public enum JobVerb: String, CaseIterable, Codable, Sendable {
    case cancel, pause, resume
    case setSpeed = "set-speed"
    case complete, dismiss, finalize, change
}

extension JobVerb {
    /// The statuses in which QEMU's generic state check lets `self` through: QEMU's `JobVerbTable` (job.c),
    /// identical in QEMU 7.2 and 10.1.3 (`complete` is allowed in `standby` since QEMU 6.0).
    ///
    /// Passing this check does not mean QEMU accepts the command: `pause` of a paused job, for example, then fails
    /// with "Job is already paused".
    public var allowedIn: Set<JobStatus> {
        switch self {
        case .cancel: [.created, .running, .paused, .ready, .standby, .waiting, .pending]
        case .pause, .resume, .setSpeed, .change: [.created, .running, .paused, .ready, .standby]
        case .complete: [.ready, .standby]
        case .dismiss: [.concluded]
        case .finalize: [.pending]
        }
    }

    /// Whether QEMU's verb table lets `self` through for a job in `status`.
    public func isAllowed(in status: JobStatus) -> Bool {
        allowedIn.contains(status)
    }

    /// The verbs QEMU's table allows in `status`, in the order of `JobVerb.allCases`.
    public static func allowed(in status: JobStatus) -> [JobVerb] {
        allCases.filter { $0.isAllowed(in: status) }
    }

    /// QEMU's refusal text for a verb its table forbids, word for word (job.c `job_apply_verb_locked`):
    /// `Job 'x' in state 'running' cannot accept command verb 'dismiss'`.
    public func refusal(jobID: String, status: JobStatus) -> String {
        "Job '\(jobID)' in state '\(status.rawValue)' cannot accept command verb '\(rawValue)'"
    }
}
