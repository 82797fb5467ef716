import Foundation
import Synchronization

/// Whether the data directory takes durable writes, shared by everything that writes there.
///
/// Set failing by the first write that fails (the journal, a checkpoint, the idempotency ledger); cleared by
/// `JobManager` once a probe write and the pending checkpoint succeed again. While it fails, jobgate acknowledges
/// no change (507 before anything reaches QEMU) and `/readyz` is 503; reads go on. Safe from any thread.
public final class StorageHealth: Sendable {
    /// Why writes fail, and since when.
    public struct Failure: Sendable, Equatable {
        public var reason: String
        public var since: Date
    }

    /// The data directory this is about (named in problems and logs).
    public let dataDirectory: String
    private let state = Mutex<Failure?>(nil)

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The current failure, or nil while writes succeed.
    public var failure: Failure? {
        state.withLock { $0 }
    }

    public var isHealthy: Bool { failure == nil }

    /// Notes a failed write; the first failure's time is kept until `recover`.
    /// - Returns: true if this turned a healthy store failing (the caller logs it once).
    @discardableResult
    public func fail(_ error: any Error) -> Bool {
        state.withLock { failure in
            guard failure == nil else {
                failure!.reason = "\(error)"
                return false
            }
            failure = Failure(reason: "\(error)", since: Date())
            return true
        }
    }

    /// Writes succeed again.
    /// - Returns: the failure that ended, if there was one.
    @discardableResult
    public func recover() -> Failure? {
        state.withLock { failure in
            defer { failure = nil }
            return failure
        }
    }
}
