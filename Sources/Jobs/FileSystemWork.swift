import Dispatch
import Foundation
import JobModel
import Synchronization

/// Blocking file-system calls made for a request (path resolution, `stat`, qcow2 headers, opening images) run
/// here: each on a thread of its own, never on Swift's cooperative pool or inside the job manager, and for at most
/// a time bound. An image root on a file system that stops answering (a stalled NFS or FUSE mount) then fails the
/// requests that touch it, quickly, and delays nothing else.
///
/// Not a dispatch queue: on Linux, dispatch's global queues are the threads Swift's tasks run on, so work stuck in
/// the kernel there would starve every task (measured: a `GET /nodes` waited 1.7 s behind three stalled lookups).
/// A stuck thread stays stuck until the mount answers or goes away; it holds nothing jobgate needs.
public struct FileSystemWork: Sendable {
    /// How long one request's file-system work may take (`--file-timeout`).
    public let limit: Duration

    private static let timers = DispatchQueue(label: "jobgate.file-system-timers")

    public init(limit: Duration = .seconds(5)) {
        self.limit = limit
    }

    /// Runs `work` on a file-system thread, waiting at most `limit`.
    /// - Parameter late: called with the result of work that finished after the caller gave up (to close what it
    ///   opened); the thread itself cannot be interrupted.
    /// - Throws: what `work` throws, or `JobError.fileSystemTimeout` once `limit` has passed.
    public func run<Result: Sendable>(
        _ work: @escaping @Sendable () throws -> Result, late: @escaping @Sendable (Result) -> Void = { _ in }
    ) async throws -> Result {
        let waiter = Mutex<CheckedContinuation<Result, any Error>?>(nil)
        let limit = limit
        return try await withCheckedThrowingContinuation { continuation in
            waiter.withLock { $0 = continuation }
            let thread = Thread {
                let outcome = Swift.Result { try work() }
                if let continuation = waiter.withLock({ $0.take() }) {
                    continuation.resume(with: outcome)
                } else if case .success(let value) = outcome {
                    late(value)
                }
            }
            thread.name = "file-system"
            thread.start()
            Self.timers.asyncAfter(deadline: .now() + limit.seconds) {
                waiter.withLock { $0.take() }?.resume(throwing: JobError.fileSystemTimeout(seconds: limit.seconds))
            }
        }
    }
}
