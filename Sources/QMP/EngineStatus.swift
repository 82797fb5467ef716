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
        /// True when jobgate started the connected engine itself on this connection (rather than attaching to
        /// one that was already running), so no job recorded earlier can still exist in it.
        public var isFreshEngine = false
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func markConnected(_ greeting: QMPGreeting) {
        state.withLock {
            $0 = Snapshot(
                isConnected: true, version: greeting.version, package: greeting.package, lastProblem: nil,
                connectedSince: Date(), isFreshEngine: $0.isFreshEngine)
        }
    }

    /// Records, before connecting, whether the engine about to be connected was just started by jobgate.
    public func noteEngine(isFresh: Bool) {
        state.withLock { $0.isFreshEngine = isFresh }
    }

    public func markDisconnected(_ problem: String) {
        state.withLock {
            $0.isConnected = false
            $0.lastProblem = problem
            $0.connectedSince = nil
        }
    }
}
