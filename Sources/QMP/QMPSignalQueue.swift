import Synchronization

/// The engine signals a `QMPClient` produces (`.connected`, every event, `.disconnected`), in order, waiting for
/// their one consumer, which takes whatever arrived since its last call at once (`next`): a batch, applied and
/// made durable together by the job manager's group commit.
///
/// Events are pushed straight from the QMP reader thread, so that an event reaches the job manager with one wake-up
/// of its task and no hop through other tasks; `push` never blocks. One consumer.
public final class QMPSignalQueue: Sendable, AsyncSequence {
    public typealias Element = QMPSignal
    public typealias Failure = Never

    private struct State {
        var items: [QMPSignal] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds a signal. Called from any thread.
    public func push(_ signal: QMPSignal) {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.finished else { return nil }
            state.items.append(signal)
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// No more signals will come; `next` returns nil once the queue is empty.
    public func finish() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// Every signal that arrived since the last call (at least one, waiting for it), or nil at the end.
    public func next() async -> [QMPSignal]? {
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

    /// The signals one by one (tests, and consumers that want no batches).
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: QMPSignalQueue
        var batch: [QMPSignal] = []

        public mutating func next() async -> QMPSignal? {
            if batch.isEmpty { batch = await queue.next() ?? [] }
            return batch.isEmpty ? nil : batch.removeFirst()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: self)
    }
}
