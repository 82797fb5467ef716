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
        /// Set when jobgate started the connected engine itself on this connection (rather than attaching to one
        /// that was already running), so no job recorded earlier can still exist in it: why the old one is gone
        /// ("the QEMU engine exited", "the QEMU engine stopped answering QMP and was killed").
        public var replacedEngineBecause: String?
        /// Set while the connected engine does not answer its liveness probes: since when.
        public var unresponsiveSince: Date?
        /// Since when jobgate has had no connection to the engine (from jobgate's start, or the drop); nil while
        /// connected.
        public var disconnectedSince: Date? = Date()

    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func markConnected(_ greeting: QMPGreeting) {
        state.withLock {
            $0 = Snapshot(
                isConnected: true, version: greeting.version, package: greeting.package, lastProblem: nil,
                connectedSince: Date(), replacedEngineBecause: $0.replacedEngineBecause, disconnectedSince: nil)
        }
    }

    /// Records, before connecting, whether the engine about to be connected was just started by jobgate, and
    /// if so why the previous one is gone (nil: attaching to an engine that was already running).
    public func noteEngine(replacedBecause reason: String?) {
        state.withLock { $0.replacedEngineBecause = reason }
    }

    /// The engine has not answered its liveness probes for `silent` (nil: it answers).
    public func markSilent(for silent: Duration?) {
        state.withLock { state in
            guard let silent else {
                state.unresponsiveSince = nil
                return
            }
            state.unresponsiveSince = state.unresponsiveSince ?? Date().addingTimeInterval(-silent.seconds)
        }
    }

    public func markDisconnected(_ problem: String) {
        state.withLock {
            $0.unresponsiveSince = nil
            if $0.isConnected || $0.disconnectedSince == nil { $0.disconnectedSince = Date() }
            $0.isConnected = false
            $0.lastProblem = problem
            $0.connectedSince = nil
        }
    }
}
