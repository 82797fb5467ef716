/// Why the store could not do what was asked.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file-system step failed.
    case io(step: String, reason: String)
    /// A snapshot file does not parse.
    case unreadable(file: String, reason: String)
    /// A snapshot file was written by a newer jobgate (or is not ours).
    case unknownVersion(file: String, version: Int?)
    /// The data directory is writable by group or others (`mode`: its permission bits).
    case unsafeDataDirectory(path: String, mode: Int)

    public var description: String {
        switch self {
        case .io(let step, let reason): "store: \(step) failed: \(reason)"
        case .unreadable(let file, let reason): "store: \(file) is unreadable: \(reason)"
        case .unknownVersion(let file, let version):
            "store: \(file) has schema version \(version.map(String.init) ?? "none"), this jobgate reads version \(SnapshotStore.schemaVersion)"
        case .unsafeDataDirectory(let path, let mode):
            "the data directory \(path) is writable by group or others (mode \(String(mode, radix: 8))); it holds the clients' requests and what jobgate replays at start: make it private (chmod 700 \(path))"
        }
    }
}
