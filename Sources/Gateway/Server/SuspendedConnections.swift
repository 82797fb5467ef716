import Dispatch
import JobModel
import Synchronization

/// Connections suspended with `MHD_suspend_connection` that libmicrohttpd has not called back since: a deferred
/// request waiting for its handler, an event stream with nothing to send. `MHD_stop_daemon` with such a connection
/// aborts the process, so shutdown waits until there is none (`waitUntilNone`) instead of pausing a guessed while.
///
/// Counted up on a libmicrohttpd thread just before it suspends a connection, down on the libmicrohttpd thread that
/// calls the connection back after its resume (the access handler, or the stream's content reader).
final class SuspendedConnections: Sendable {
    private struct State {
        var count = 0
        var waiter: DispatchSemaphore?
    }

    private let state = Mutex(State())

    /// Just before `MHD_suspend_connection`.
    func suspending() {
        state.withLock { $0.count += 1 }
    }

    /// When libmicrohttpd calls a resumed connection back.
    func calledBack() {
        let waiter = state.withLock { state -> DispatchSemaphore? in
            state.count -= 1
            guard state.count == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.signal()
    }

    var count: Int { state.withLock { $0.count } }

    /// Waits until no connection is suspended, at most `timeout`; every one must have been resumed by now.
    /// Called once, at shutdown, off libmicrohttpd's threads.
    /// - Returns: whether none is left.
    func waitUntilNone(timeout: Duration) -> Bool {
        let waiter = DispatchSemaphore(value: 0)
        let none = state.withLock { state -> Bool in
            if state.count == 0 { return true }
            state.waiter = waiter
            return false
        }
        if none { return true }
        return waiter.wait(timeout: .now() + timeout.seconds) == .success
    }
}
