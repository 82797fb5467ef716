import Foundation

/// Whether jobgate can take changes now, as `/readyz` reports it and as the gateway's 507 guard asks: the
/// records are loaded, the data directory takes durable writes, and the engine answers QMP. Read from any thread.
public enum Readiness: Sendable, Equatable {
    case ready(qemuVersion: String?, package: String?)
    /// The records are still loading.
    case starting
    /// Writes to the data directory fail since `since`; nothing is acknowledged.
    case storageFailing(dataDirectory: String, reason: String, since: Date)
    /// The engine is connected but has not answered its liveness probes since `since`.
    case engineUnresponsive(since: Date)
    /// No engine connection (yet, or any more); the last problem connecting, if any.
    case engineNotConnected(lastProblem: String?)

    /// Whether `/readyz` answers 200.
    public var isReady: Bool {
        if case .ready = self { return true }
        return false
    }
}

/// Why the data directory takes no durable writes: the gateway's 507 guard.
public struct StorageRefusal: Sendable, Equatable {
    public var dataDirectory: String
    public var reason: String
}

extension JobManager {
    /// The readiness now, in `/readyz`'s order of checks.
    public nonisolated var readiness: Readiness {
        guard book.isRestored else { return .starting }
        if let failure = storage.failure {
            return .storageFailing(dataDirectory: storage.dataDirectory, reason: failure.reason, since: failure.since)
        }
        let state = status.snapshot
        if state.isConnected, let since = state.unresponsiveSince { return .engineUnresponsive(since: since) }
        guard state.isConnected else { return .engineNotConnected(lastProblem: state.lastProblem) }
        return .ready(qemuVersion: state.version?.description, package: state.package)
    }

    /// Non-nil while the data directory takes no durable writes, so that no change can be acknowledged.
    public nonisolated var storageRefusal: StorageRefusal? {
        storage.failure.map { StorageRefusal(dataDirectory: storage.dataDirectory, reason: $0.reason) }
    }
}
