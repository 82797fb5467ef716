/// Why the store could not do what was asked.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file-system step failed.
    case io(step: String, reason: String)
    /// A snapshot file does not parse.
    case unreadable(file: String, reason: String)
    /// A snapshot file was written by a newer jobgate (or is not ours).
    case unknownVersion(file: String, version: Int?)

    public var description: String {
        switch self {
        case .io(let step, let reason): "store: \(step) failed: \(reason)"
        case .unreadable(let file, let reason): "store: \(file) is unreadable: \(reason)"
        case .unknownVersion(let file, let version):
            "store: \(file) has schema version \(version.map(String.init) ?? "none"), this jobgate reads version \(SnapshotStore.schemaVersion)"
        }
    }
}
