import Foundation
import JobModel
import Synchronization

/// The records of every job jobgate has seen, readable from any thread without waiting.
///
/// For each id: the current run (what `GET /jobs/{id}` shows) and the earlier runs of the same id (QEMU lets an id
/// be reused once its job is dismissed). Only `JobManager` writes; libmicrohttpd threads read (`GET /jobs`
/// answers from here on the spot). Critical sections copy or assign and return.
public final class JobBook: Sendable {
    private struct State {
        var current: [String: JobRecord] = [:]
        var earlier: [String: [JobRecord]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The current run of `id`, if any.
    public func record(_ id: String) -> JobRecord? {
        state.withLock { $0.current[id] }
    }

    /// Every current record, oldest first (creation time, then id).
    public func all() -> [JobRecord] {
        state.withLock { Array($0.current.values) }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Every run of `id`, oldest first; the last is the current one.
    public func runs(of id: String) -> [JobRecord] {
        state.withLock { state in
            (state.earlier[id] ?? []) + (state.current[id].map { [$0] } ?? [])
        }
    }

    /// The number of records, all runs included.
    public var count: Int {
        state.withLock { state in state.current.count + state.earlier.values.reduce(0) { $0 + $1.count } }
    }

    /// Replaces the current run of `record.id` (same run) or adds it.
    func put(_ record: JobRecord) {
        state.withLock { $0.current[record.id] = record }
    }

    /// The run number a new run of `id` gets.
    func nextRun(of id: String) -> Int {
        state.withLock { state in
            (state.current[id]?.run ?? state.earlier[id]?.last?.run ?? 0) + 1
        }
    }

    /// Makes `record` (a new run) current; the previous current run of its id becomes an earlier run.
    func begin(_ record: JobRecord) {
        state.withLock { state in
            if let previous = state.current[record.id] { state.earlier[record.id, default: []].append(previous) }
            state.current[record.id] = record
        }
    }

    /// Forgets one run (retention, or a job QEMU created and rolled back within a refused command).
    func remove(_ record: JobRecord) {
        state.withLock { state in
            if state.current[record.id]?.run == record.run {
                state.current[record.id] = state.earlier[record.id]?.popLast()
            } else {
                state.earlier[record.id]?.removeAll { $0.run == record.run }
            }
            if state.earlier[record.id]?.isEmpty == true { state.earlier[record.id] = nil }
        }
    }

    /// Loads records read from disk: per id, the highest run is current.
    func restore(_ records: [JobRecord]) {
        let byID = Dictionary(grouping: records, by: \.id)
        state.withLock { state in
            for (id, runs) in byID {
                let sorted = runs.sorted { $0.run < $1.run }
                state.current[id] = sorted.last
                state.earlier[id] = sorted.count > 1 ? Array(sorted.dropLast()) : nil
            }
        }
    }

    /// Records that ended (frozen stats) and may be pruned: every earlier run, and current runs that are gone
    /// from QEMU (`null`). Oldest end first.
    func finished() -> [JobRecord] {
        state.withLock { state in
            state.earlier.values.flatMap { $0 } + state.current.values.filter { $0.status == .null }
        }.sorted { ($0.updatedAt, $0.id, $0.run) < ($1.updatedAt, $1.id, $1.run) }
    }
}
