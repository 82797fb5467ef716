import JobModel
import QMP

/// Why a job or node request was refused. The gateway turns each case into an RFC 9457 problem.
public enum JobError: Error, Sendable, Equatable {
    /// The body is not what the route takes (not JSON, not an object, ...).
    case invalidBody(String)
    /// One field of the body is missing, unknown or ill-typed; `field` is its path, e.g. `file.filename`.
    case invalidField(field: String, detail: String)
    /// No job with this id was ever seen.
    case unknownJob(String)
    /// QEMU's verb table forbids `verb` in `status` (jobgate checked before asking QEMU).
    case verbNotAllowed(id: String, verb: JobVerb, status: JobStatus)
    /// A verb that only block jobs have (`set-speed`, soft `cancel`, `change`) on a job of another type.
    case notABlockJob(id: String, type: JobType?, verb: JobVerb)
    /// jobgate refuses a transaction before it reaches QEMU (a shape QEMU 7.2 would hang on, or reject late).
    case transactionRefused(String)
    /// The connected QEMU lacks what the request needs (e.g. `change` before QEMU 8.2).
    case unsupportedByEngine(feature: String, version: QEMUVersion?, since: QEMUVersion)
    /// A file name outside every image root (after symlinks), or a `json:` pseudo-filename.
    case pathOutsideImageRoots(field: String, path: String)
    /// A file name inside the image roots that names something other than a regular file (`kind` says what).
    case notARegularFile(field: String, path: String, kind: String)
    /// A block driver that is not on the allow-list.
    case driverNotAllowed(field: String, driver: String, allowed: [String])
    /// jobgate is still loading its records; the request would act on an incomplete book.
    case starting
    /// The data directory takes no durable writes (full, I/O error, read-only): nothing is acknowledged.
    /// `held`: what happened to the request's effect, when QEMU had already carried it out (nil: nothing was sent).
    case storageFailing(dataDirectory: String, reason: String, held: String?)
    /// QEMU itself refused or could not be asked; `operation` says what jobgate was doing.
    /// The file system of an image root did not answer within `seconds` (`FileSystemWork`).
    case fileSystemTimeout(seconds: Double)
    case engine(EngineFailure, operation: Operation)
    /// A refusal jobgate makes before asking QEMU (`refusal`), for a case QEMU has words of its own: QEMU's class
    /// and text (`QEMUWording`), carried as the problem's `class` and `desc`.
    indirect case inQEMUWords(JobError, EngineRefusal)
    /// A verb on a job that has ended (status `null`, its record kept): QEMU no longer knows it (`qemu`).
    case jobEnded(id: String, verb: JobVerb, qemu: EngineRefusal)

    /// What was being attempted when QEMU answered, which decides how a refusal reads over HTTP.
    public enum Operation: Sendable, Equatable {
        /// Creating a job or a node: a refusal means the request cannot be carried out as given.
        case create
        /// A verb on an existing job: a refusal means the job's state does not allow it.
        case verb(JobVerb, id: String)
        /// A read (`query-*`).
        case query
    }
}
