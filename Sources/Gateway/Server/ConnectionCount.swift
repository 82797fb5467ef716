import Dispatch
import JobModel
import Synchronization

/// A count of connections in some state that shutdown must wait out (`waitUntilNone`) instead of pausing a guessed
/// while. The server keeps two:
///
/// - *suspended*: connections suspended with `MHD_suspend_connection` that libmicrohttpd has not called back since
///   (a deferred request waiting for its handler, an event stream with nothing to send). `MHD_stop_daemon` with such
///   a connection aborts the process. Counted up on a libmicrohttpd thread just before it suspends a connection,
///   down on the libmicrohttpd thread that calls the connection back after its resume (the access handler, or the
///   stream's content reader).
/// - *streaming*: event-stream responses libmicrohttpd still holds. A stream that ended is freed only once its last
///   chunk is sent, so waiting for none lets every client see its stream end cleanly before the daemon closes the
///   sockets. Counted up when the stream's response is queued, down in its free callback (both libmicrohttpd
///   threads).
final class ConnectionCount: Sendable {
    private struct State {
        var count = 0
        var waiter: DispatchSemaphore?
    }

    private let state = Mutex(State())

    /// One more (just before `MHD_suspend_connection`; when a stream's response is queued).
    func add() {
        state.withLock { $0.count += 1 }
    }

    /// One less (when libmicrohttpd calls a resumed connection back; when it frees a stream's response).
    func remove() {
        let waiter = state.withLock { state -> DispatchSemaphore? in
            state.count -= 1
            guard state.count == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.signal()
    }

    var count: Int { state.withLock { $0.count } }

    /// Waits until the count is zero, at most `timeout`. Called once per count, at shutdown, off libmicrohttpd's
    /// threads (suspended connections must all have been resumed by then, streams ended).
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
