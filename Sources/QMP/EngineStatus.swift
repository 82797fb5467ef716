import Foundation
import Synchronization

/// What is known about the engine right now, readable from any thread without waiting (for `/readyz`).
public final class EngineStatus: Sendable {
    /// A copy of the state at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// True once the engine answered the QMP handshake, until the connection drops.
        public var isConnected = false
        public var version: QEMUVersion?
        public var package: String?
        /// Why the engine is not connected, if known.
        public var lastProblem: String?
        public var connectedSince: Date?
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func markConnected(_ greeting: QMPGreeting) {
        state.withLock {
            $0 = Snapshot(
                isConnected: true, version: greeting.version, package: greeting.package, lastProblem: nil,
                connectedSince: Date())
        }
    }

    public func markDisconnected(_ problem: String) {
        state.withLock {
            $0.isConnected = false
            $0.lastProblem = problem
            $0.connectedSince = nil
        }
    }
}
