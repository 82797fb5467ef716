import Foundation
import JSON
import JobModel
import Synchronization

/// The records of every job jobgate has seen, readable from any thread without waiting.
///
/// For each id: the current run (what `GET /jobs/{id}` shows) and the earlier runs of the same id (QEMU lets an id
/// be reused once its job is dismissed). Only `JobManager` writes; libmicrohttpd threads read (`GET /jobs`
/// answers from here on the spot). Critical sections copy or assign and return.
public final class JobBook: Sendable {
    /// A position in the listing order: creation time, then id, then run.
    public struct ListKey: Comparable, Sendable {
        public var createdAt: Date
        public var id: String
        public var run: Int

        init(_ record: JobRecord) {
            createdAt = record.createdAt
            id = record.id
            run = record.run
        }

        public init(createdAt: Date, id: String, run: Int) {
            self.createdAt = createdAt
            self.id = id
            self.run = run
        }

        public static func < (lhs: ListKey, rhs: ListKey) -> Bool {
            (lhs.createdAt, lhs.id, lhs.run) < (rhs.createdAt, rhs.id, rhs.run)
        }
    }

    private struct State {
        var current: [String: JobRecord] = [:]
        var earlier: [String: [JobRecord]] = [:]
        /// The keys of the current records, sorted: paging never sorts.
        var order: [ListKey] = []
        /// Counts the events of this start of jobgate (see `currentEventID`).
        var sequence: UInt64 = 0
        /// The JSON text of records that can no longer change (ended), by `id~run`: listing serves it as is.
        var json: [String: Data] = [:]
        /// False until the records on disk are loaded (`restore`); `/readyz` waits for it.
        var restored = false
        /// Ids whose current run QEMU still has working (not concluded, not gone): the poller's cheap test.
        var live: Set<String> = []
        /// The JSON text of live current runs as of an engine sample (`sampledText`), by id; dropped when the run
        /// changes.
        var sampledTexts: [String: (sampledAt: Date, text: Data)] = [:]
        /// Counts the writes, so that a text made outside the lock is kept only if nothing changed meanwhile.
        var writes: UInt64 = 0

        /// Every write of a current run goes through here first.
        mutating func changing(_ id: String) {
            sampledTexts[id] = nil
            writes &+= 1
        }

        mutating func track(_ record: JobRecord) {
            if record.status == .null || record.status == .concluded {
                live.remove(record.id)
            } else {
                live.insert(record.id)
            }
        }

        /// Where `key` is, or would go, in `order`.
        func position(of key: ListKey) -> Int {
            var low = 0
            var high = order.count
            while low < high {
                let middle = (low + high) / 2
                if order[middle] < key { low = middle + 1 } else { high = middle }
            }
            return low
        }

        mutating func insertKey(_ key: ListKey) {
            order.insert(key, at: position(of: key))
        }

        mutating func removeKey(_ key: ListKey) {
            let index = position(of: key)
            if index < order.count, order[index] == key { order.remove(at: index) }
        }
    }

    private let state = Mutex(State())
    /// Distinguishes this jobgate process's sequence numbers from an earlier one's.
    public let epoch: UInt64

    /// - Parameter epoch: a number that grows with every start of jobgate (persisted by the caller).
    public init(epoch: UInt64 = 0) {
        self.epoch = epoch
    }

    /// `<epoch>-<sequence>`: the position in the stream of status changes at the moment of reading, consistent
    /// with a listing taken under the same lock (`page`).
    public var eventCursor: String {
        currentEventID.description
    }

    /// The newest event id handed out (`<epoch>-0` before the first).
    public var currentEventID: EventID {
        state.withLock { EventID(epoch: epoch, sequence: $0.sequence) }
    }

    /// Hands out the next event id, for an event that changes no record (`BLOCK_JOB_*`, `JOB_PROGRESS`).
    func nextEventID() -> EventID {
        state.withLock { state in
            state.sequence += 1
            return EventID(epoch: epoch, sequence: state.sequence)
        }
    }

    /// One page of current records in listing order, after `cursor`, that satisfy `matching` (each with its
    /// cached JSON text, if any); the key to continue from, if more may follow; and the event cursor at that moment.
    public func page(after cursor: ListKey?, limit: Int, matching: (JobRecord) -> Bool) -> (
        records: [(record: JobRecord, json: Data?)], next: ListKey?, eventCursor: String
    ) {
        state.withLock { state in
            var index = cursor.map { state.position(of: $0) } ?? 0
            if let cursor, index < state.order.count, state.order[index] == cursor { index += 1 }
            var records: [(record: JobRecord, json: Data?)] = []
            while index < state.order.count && records.count < limit {
                if let record = state.current[state.order[index].id], matching(record) {
                    records.append((record, state.json[record.runKey]))
                }
                index += 1
            }
            let next =
                index < state.order.count && records.count == limit ? records.last.map { ListKey($0.record) } : nil
            return (records, next, "\(epoch)-\(state.sequence)")
        }
    }

    /// The JSON text of `record` as the API serves it: the stored text of a record that can no longer change
    /// (always there for partial ones; made once, on first read, and kept for the next), else made now. The
    /// memo is the book's own: what the records say still changes only through `JobManager`.
    public func text(of record: JobRecord, now: Date) -> Data {
        if let stored = state.withLock({ $0.json[record.runKey] }) { return stored }
        let text = record.json(now: now).serialized()
        if record.finalStats != nil, record.status == .null {
            state.withLock { state in
                if state.current[record.id] == record || state.earlier[record.id]?.contains(record) == true {
                    state.json[record.runKey] = text
                }
            }
        }
        return text
    }

    /// The JSON text of live job `id` as of the engine's reading at `sampledAt` (`EngineSamples`): its stats are
    /// those of that moment, and say so in `stats.sampled-at`. Made once per reading and change of the record, and
    /// served as is until the next: reads of a live job do not serialise it again. The memo is the book's own.
    /// - Returns: nil if there is no such job, or it has ended (its `text(of:now:)` is the stored one).
    public func sampledText(of id: String, sampledAt: Date) -> (record: JobRecord, text: Data)? {
        let (record, memo, writes) = state.withLock { state in
            (state.current[id], state.sampledTexts[id], state.writes)
        }
        guard let record, record.status != .null, record.status != .concluded else { return nil }
        if let memo, memo.sampledAt == sampledAt { return (record, memo.text) }
        let text = Self.json(of: record, sampledAt: sampledAt).serialized()
        state.withLock { state in
            if state.writes == writes { state.sampledTexts[id] = (sampledAt, text) }
        }
        return (record, text)
    }

    /// A live record's JSON with its stats as of `sampledAt`, which `stats.sampled-at` names.
    static func json(of record: JobRecord, sampledAt: Date) -> JSONValue {
        guard case .object(var members) = record.json(now: sampledAt), case .object(var stats)? = members["stats"]
        else { return record.json(now: sampledAt) }
        stats["sampled-at"] = .string(Timestamp.format(sampledAt))
        members["stats"] = .object(stats)
        return .object(members)
    }

    /// The current run of `id`, if any.
    public func record(_ id: String) -> JobRecord? {
        state.withLock { $0.current[id] }
    }

    /// Every run of `id`, oldest first; the last is the current one.
    public func runs(of id: String) -> [JobRecord] {
        state.withLock { state in
            (state.earlier[id] ?? []) + (state.current[id].map { [$0] } ?? [])
        }
    }

    /// Whether the records on disk have been loaded (always true for a book that has nothing to load).
    public var isRestored: Bool {
        state.withLock { $0.restored }
    }

    /// Marks the book complete without loading anything (no store).
    func markRestored() {
        state.withLock { $0.restored = true }
    }

    /// Whether any job is still at work in QEMU (neither concluded nor gone).
    public var hasLiveJobs: Bool {
        state.withLock { !$0.live.isEmpty }
    }

    /// The one readiness check of every read and change that needs the records.
    /// - Throws: `JobError.starting` until the records on disk are loaded (`markRestored`).
    public func requireRestored() throws {
        guard isRestored else { throw JobError.starting }
    }

    /// The ids whose current run QEMU still has working.
    var liveIDs: Set<String> {
        state.withLock { $0.live }
    }

    /// How many jobs (their current runs) are in each status, by type (nil: a job jobgate never learnt the type of).
    public func census() -> [JobStatus: [JobType?: Int]] {
        state.withLock { state in
            var counts: [JobStatus: [JobType?: Int]] = [:]
            for record in state.current.values { counts[record.status, default: [:]][record.type, default: 0] += 1 }
            return counts
        }
    }

    /// The number of records, all runs included.
    public var count: Int {
        state.withLock { state in state.current.count + state.earlier.values.reduce(0) { $0 + $1.count } }
    }

    /// Replaces the current run of `record.id` (same run) or adds it. `eventID`: the id of the status change's
    /// event, which becomes the book's event cursor under the same lock, so a listing and its `eventCursor` agree.
    func put(_ record: JobRecord, eventID: EventID? = nil) {
        state.withLock { state in
            state.changing(record.id)
            if let previous = state.current[record.id] {
                if ListKey(previous) != ListKey(record) {
                    state.removeKey(ListKey(previous))
                    state.insertKey(ListKey(record))
                }
            } else {
                state.insertKey(ListKey(record))
            }
            state.current[record.id] = record
            state.json[record.runKey] = nil
            state.track(record)
            if let eventID { state.sequence = eventID.sequence }
        }
    }

    /// Moves the event cursor to `eventID`, the id of an event that changes no record (`BLOCK_JOB_*`).
    func note(_ eventID: EventID) {
        state.withLock { $0.sequence = eventID.sequence }
    }

    /// The run number a new run of `id` gets.
    func nextRun(of id: String) -> Int {
        state.withLock { state in
            (state.current[id]?.run ?? state.earlier[id]?.last?.run ?? 0) + 1
        }
    }

    /// Makes `record` (a new run) current; the previous current run of its id becomes an earlier run. `eventID`:
    /// the id of its event (see `put`); nil takes the next one.
    func begin(_ record: JobRecord, eventID: EventID? = nil) {
        state.withLock { state in
            state.changing(record.id)
            if let previous = state.current[record.id] {
                state.earlier[record.id, default: []].append(previous)
                state.removeKey(ListKey(previous))
            }
            state.current[record.id] = record
            state.insertKey(ListKey(record))
            state.track(record)
            state.sequence = eventID?.sequence ?? state.sequence + 1
        }
    }

    /// Forgets one run (retention, or a job QEMU created and rolled back within a refused command).
    func remove(_ record: JobRecord) {
        state.withLock { state in
            state.changing(record.id)
            state.json[record.runKey] = nil
            if state.current[record.id]?.run == record.run {
                state.removeKey(ListKey(record))
                state.current[record.id] = state.earlier[record.id]?.popLast()
                if let restored = state.current[record.id] {
                    state.insertKey(ListKey(restored))
                    state.track(restored)
                } else {
                    state.live.remove(record.id)
                }
            } else {
                state.earlier[record.id]?.removeAll { $0.run == record.run }
            }
            if state.earlier[record.id]?.isEmpty == true { state.earlier[record.id] = nil }
        }
    }

    /// Loads records read from disk, each with its stored JSON text (kept for records that can no longer
    /// change): per id, the highest run is current. One pass, no grouping: start-up with many records is
    /// dominated by this and by decoding.
    func restore(_ loaded: some Collection<(record: JobRecord, json: Data?)>) {
        state.withLock { state in
            state.current.reserveCapacity(loaded.count)
            state.json.reserveCapacity(loaded.count)
            for (record, json) in loaded {
                if let existing = state.current[record.id] {
                    if existing.run < record.run {
                        state.earlier[record.id, default: []].append(existing)
                        state.current[record.id] = record
                    } else {
                        state.earlier[record.id, default: []].append(record)
                    }
                } else {
                    state.current[record.id] = record
                }
                if let json, record.status == .null, record.finalStats != nil {
                    state.json[record.runKey] = json
                }
            }
            for id in state.earlier.keys { state.earlier[id]!.sort { $0.run < $1.run } }
            state.order = state.current.values.map(ListKey.init).sorted()
            state.live = Set(
                state.current.values.lazy.filter { $0.status != .null && $0.status != .concluded }.map(\.id))
            state.restored = true
        }
    }

    /// The current records QEMU may still have (any status but `null`).
    func activeRecords() -> [JobRecord] {
        state.withLock { state in state.current.values.filter { $0.status != .null } }
    }

    /// A finished run, as retention sees it.
    public struct FinishedRun: Sendable, Equatable {
        public var id: String
        public var run: Int
        public var endedAt: Date
    }

    /// Runs that ended and may be pruned: every earlier run, and current runs that are gone from QEMU (`null`).
    /// Oldest end first. Live jobs, and concluded jobs still waiting for `dismiss`, are never among them.
    func finishedRuns() -> [FinishedRun] {
        state.withLock { state in
            var runs: [FinishedRun] = []
            runs.reserveCapacity(state.current.count)
            for (id, earlier) in state.earlier {
                for record in earlier { runs.append(FinishedRun(id: id, run: record.run, endedAt: record.updatedAt)) }
            }
            for record in state.current.values where record.status == .null {
                runs.append(FinishedRun(id: record.id, run: record.run, endedAt: record.updatedAt))
            }
            return runs
        }.sorted { ($0.endedAt, $0.id, $0.run) < ($1.endedAt, $1.id, $1.run) }
    }

    /// One run of `id`, current or earlier.
    func record(_ id: String, run: Int) -> JobRecord? {
        state.withLock { state in
            state.current[id]?.run == run ? state.current[id] : state.earlier[id]?.first { $0.run == run }
        }
    }
}
