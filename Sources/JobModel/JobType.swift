/// QAPI `JobType` (`qapi/job.json`, QEMU 7.2): the kinds of job QEMU's job engine runs.
public enum JobType: String, CaseIterable, Codable, Sendable {
    case commit, stream, mirror, backup, create, amend
    case snapshotLoad = "snapshot-load"
    case snapshotSave = "snapshot-save"
    case snapshotDelete = "snapshot-delete"
}

extension JobType {
    /// Block jobs are the types `query-block-jobs` and the `block-job-*` commands see.
    public var isBlockJob: Bool {
        switch self {
        case .commit, .stream, .mirror, .backup: true
        case .create, .amend, .snapshotLoad, .snapshotSave, .snapshotDelete: false
        }
    }
}
