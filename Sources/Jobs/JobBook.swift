import Foundation
import JobModel
import Synchronization

/// The records of every job jobgate has seen, readable from any thread without waiting.
///
/// Only `JobManager` writes; libmicrohttpd threads read (`GET /jobs` answers from here on the spot). Critical
/// sections copy or assign and return.
public final class JobBook: Sendable {
    private struct State {
        var records: [String: JobRecord] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The record for `id`, if any.
    public func record(_ id: String) -> JobRecord? {
        state.withLock { $0.records[id] }
    }

    /// Every record, oldest first (creation time, then id).
    public func all() -> [JobRecord] {
        state.withLock { Array($0.records.values) }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Forgets the record for `id` (a job QEMU created and rolled back within a refused command).
    func remove(_ id: String) {
        _ = state.withLock { $0.records.removeValue(forKey: id) }
    }

    /// Changes the record for `id` (nil: none yet) and returns the result.
    @discardableResult
    func update(_ id: String, _ body: (inout JobRecord?) -> Void) -> JobRecord? {
        state.withLock {
            var record = $0.records[id]
            body(&record)
            $0.records[id] = record
            return record
        }
    }
}
