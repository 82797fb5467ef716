import QMP
import Synchronization

/// Engine signals waiting to be applied, handed over all at once: whatever arrived while the previous ones were
/// being applied is one batch, so its changes are made durable together (`JobManager`'s group commit).
/// One producer, one consumer.
final class SignalBuffer: Sendable {
    private struct State {
        var items: [QMPSignal] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func push(_ signal: QMPSignal) {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(signal)
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// No more signals will come; `next` returns nil once the buffer is empty.
    func finish() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// Every signal that arrived since the last call (at least one, waiting for it), or nil at the end.
    func next() async -> [QMPSignal]? {
        while true {
            let (items, finished) = state.withLock { state in
                defer { state.items = [] }
                return (state.items, state.finished)
            }
            if !items.isEmpty { return items }
            if finished { return nil }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    guard state.items.isEmpty && !state.finished else { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
