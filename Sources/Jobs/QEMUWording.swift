import JobModel
import QMP

/// QEMU's own class and text for the refusals jobgate makes without asking QEMU, so that a client reads in `desc`
/// what QEMU would have answered. Worded as QEMU 7.2 words them; the source of each is named. The README's
/// "Refusals jobgate makes itself" table lists every case beside jobgate's reason for answering first.
public enum QEMUWording {
    /// A verb on an id QEMU has no job of: `job.c` `find_job_locked` for `job-*`, `blockdev.c`
    /// `find_block_job_locked` for `block-job-*` (class DeviceNotActive).
    public static func jobNotFound(_ id: String, command: String) -> EngineRefusal {
        command.hasPrefix("block-job-")
            ? EngineRefusal(errorClass: "DeviceNotActive", description: "Block job '\(id)' not found")
            : EngineRefusal(errorClass: "GenericError", description: "Job not found")
    }

    /// A negative `speed`, at creation or with block-job-set-speed (`QERR_INVALID_PARAMETER_VALUE` in
    /// `blockjob.c` `block_job_set_speed_locked`).
    public static let negativeSpeed = generic("Parameter 'speed' expects a non-negative value")

    /// A non-backup action in a `grouped` transaction: 7.2's `action_check_completion_mode` in `blockdev.c`,
    /// called from the action's prepare (8.1 and later check every action up front, in lower case).
    public static func notGroupable(_ action: String) -> EngineRefusal {
        generic("Action '\(action)' does not support Transaction property completion-mode = grouped")
    }

    /// The `abort` action's prepare (`blockdev.c` `abort_prepare`).
    public static let abortAction = generic("Transaction aborted using Abort action")

    /// A node name that names nothing (`block.c` `bdrv_lookup_bs`).
    public static func cannotFindNode(_ name: String) -> EngineRefusal {
        generic("Cannot find device='\(name)' nor node-name='\(name)'")
    }

    /// A command this QEMU lacks (`qapi/qmp-dispatch.c`), e.g. block-job-change before 8.2.
    public static func commandNotFound(_ command: String) -> EngineRefusal {
        EngineRefusal(errorClass: "CommandNotFound", description: "The command \(command) has not been found")
    }

    /// A required argument left out (`QERR_MISSING_PARAMETER`, from the QAPI visitor).
    public static func missingParameter(_ name: String) -> EngineRefusal { generic("Parameter '\(name)' is missing") }

    /// A job id outside QEMU's grammar (`job.c` `job_create`).
    public static func invalidJobID(_ id: String) -> EngineRefusal { generic("Invalid job ID '\(id)'") }

    /// An id held by a job QEMU still has (`job.c` `job_create`).
    public static func jobIDInUse(_ id: String) -> EngineRefusal { generic("Job ID '\(id)' already in use") }

    static func generic(_ text: String) -> EngineRefusal {
        EngineRefusal(errorClass: "GenericError", description: text)
    }
}

extension JobVerb {
    /// The QMP command jobgate sends for this verb (`force: false` makes `cancel` a block-job-cancel).
    public func qmpCommand(softCancel: Bool = false) -> String {
        switch self {
        case .pause, .resume, .complete, .finalize, .dismiss: "job-\(rawValue)"
        case .cancel: softCancel ? "block-job-cancel" : "job-cancel"
        case .setSpeed: "block-job-set-speed"
        case .change: "block-job-change"
        }
    }
}
