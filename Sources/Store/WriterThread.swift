import Foundation
import JobModel
import Synchronization

/// A thread of its own that runs closures one at a time, in the order they were given; some after a delay. The
/// store's disk writes run on one (as QMP has its reader thread), so that a write or an fsync that takes long blocks
/// this thread only: never a libmicrohttpd thread, a thread of Swift's cooperative pool, or one of dispatch's (on
/// Linux they are the same pool), and no lock is held meanwhile.
///
/// A few serve the whole process: `journal` (the write-ahead log: on the path from an event to its subscribers),
/// `checkpoints` (record files, the archive: behind it), so that a checkpoint never delays a journal append, and
/// `requests` (the idempotency ledger, awaited by request tasks with `run`).
public final class WriterThread: Sendable {
    public static let journal = WriterThread(name: "journal-writer")
    public static let checkpoints = WriterThread(name: "store-writer")
    /// Files written for requests (the idempotency ledger), awaited by request tasks.
    public static let requests = WriterThread(name: "request-files")

    private struct Work {
        var ready: [@Sendable () -> Void] = []
        var timed: [(at: ContinuousClock.Instant, work: @Sendable () -> Void)] = []
    }

    private let work = Mutex(Work())
    private let wake = DispatchSemaphore(value: 0)
    private let threadID = Mutex<pthread_t?>(nil)

    /// A new thread; it lives as long as the process (the shared ones above are what jobgate uses).
    init(name: String) {
        let thread = Thread { [self] in
            threadID.withLock { $0 = pthread_self() }
            runWork()
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread later; returns at once.
    public func async(_ body: @escaping @Sendable () -> Void) {
        work.withLock { $0.ready.append(body) }
        wake.signal()
    }

    /// Runs `body` on the thread once `delay` has passed (and the work before it is done).
    public func async(after delay: Duration, _ body: @escaping @Sendable () -> Void) {
        work.withLock { $0.timed.append((ContinuousClock.now + delay, body)) }
        wake.signal()
    }

    /// Runs `body` on the thread after the work given before it, and waits for it: its result or its error. Must
    /// not be called on the thread itself (it would wait for itself).
    public func sync<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try wait { Result { try body() } }.get()
    }

    /// `sync` for work that cannot fail.
    public func sync<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        wait { Result<T, Never>.success(body()) }.get()
    }

    /// Runs `body` on the thread and suspends the calling task (it blocks no thread) until it is done.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            async { continuation.resume(returning: body()) }
        }
    }

    private func wait<R: Sendable>(for body: @escaping @Sendable () -> R) -> R {
        precondition(!isCurrent, "WriterThread.sync called on its own thread")
        let outcome = Mutex<R?>(nil)
        let done = DispatchSemaphore(value: 0)
        async {
            let result = body()
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }

    /// Whether the caller runs on this thread.
    public var isCurrent: Bool {
        guard let id = threadID.withLock({ $0 }) else { return false }
        return pthread_equal(id, pthread_self()) != 0
    }

    /// The thread's loop: runs what is ready, in order, and timed work that is due; sleeps until the next is due
    /// or more arrives. Never returns.
    private func runWork() {
        while true {
            let now = ContinuousClock.now
            let (due, next) = work.withLock { work -> ([@Sendable () -> Void], ContinuousClock.Instant?) in
                var due = work.ready
                work.ready.removeAll(keepingCapacity: true)
                due += work.timed.filter { $0.at <= now }.map(\.work)
                work.timed.removeAll { $0.at <= now }
                return (due, work.timed.map(\.at).min())
            }
            for body in due { body() }
            guard due.isEmpty else { continue }
            if let next {
                _ = wake.wait(timeout: .now() + (next - now).seconds)
            } else {
                wake.wait()
            }
        }
    }
}
