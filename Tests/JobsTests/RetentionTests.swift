import Foundation
import Gateway
import JobModel
import Logging
import QMP
import Store
import TestSupport
import Testing

@testable import Jobs

/// Retention of finished records, with an explicit clock: nothing sleeps.
@Suite struct RetentionTests {
    func finished(_ id: String, run: Int = 1, endedAt seconds: Double) -> JobRecord {
        var record = JobRecord(
            id: id, type: .backup, status: .created, createdAt: Date(timeIntervalSince1970: seconds - 10))
        record.run = run
        record.enter(.concluded, at: Date(timeIntervalSince1970: seconds - 1))
        record.enter(.null, at: Date(timeIntervalSince1970: seconds))
        return record
    }

    @Test("records older than the age limit go; beyond the count limit the oldest go")
    func ageAndCount() {
        let records = (0..<10).map {
            JobBook.FinishedRun(id: "j\($0)", run: 1, endedAt: Date(timeIntervalSince1970: Double(1000 + $0 * 100)))
        }
        let now = Date(timeIntervalSince1970: 2000)
        let byAge = RetentionPolicy(maxAge: .seconds(500), maxCount: nil).expired(records, now: now)
        #expect(byAge.map(\.id) == ["j0", "j1", "j2", "j3", "j4"])
        let byCount = RetentionPolicy(maxAge: nil, maxCount: 3).expired(records, now: now)
        #expect(byCount.map(\.id) == ["j0", "j1", "j2", "j3", "j4", "j5", "j6"])
        let both = RetentionPolicy(maxAge: .seconds(500), maxCount: 2).expired(records, now: now)
        #expect(both.count == 8)
        #expect(RetentionPolicy(maxAge: nil, maxCount: nil).expired(records, now: now).isEmpty)
    }

    @Test("the book keeps every run of a reused id, and never offers a live job for pruning")
    func runsAndFinished() {
        let book = JobBook()
        book.begin(finished("b0", run: 1, endedAt: 100))
        var second = JobRecord(id: "b0", type: .backup, status: .running, createdAt: Date(timeIntervalSince1970: 200))
        second.run = book.nextRun(of: "b0")
        book.begin(second)
        #expect(second.run == 2)
        #expect(book.runs(of: "b0").map(\.run) == [1, 2])
        #expect(book.record("b0")?.status == .running)
        #expect(book.finishedRuns().map(\.run) == [1])
        book.remove(book.runs(of: "b0")[0])
        #expect(book.runs(of: "b0").map(\.run) == [2])
        #expect(book.count == 1)
    }
}

/// Retention applied by the job manager to its book and the files on disk, at a given time (no sleeping).
@Suite final class ManagerRetentionTests {
    let dataDirectory = NSTemporaryDirectory() + "retention-\(UUID().uuidString.prefix(8))"

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    @Test("prune drops the expired files and records and keeps live ones")
    func pruneAtTime() async throws {
        let store = try SnapshotStore(dataDirectory: dataDirectory, logger: Logger(label: "test"))
        for index in 0..<5 {
            var record = JobRecord(
                id: "old\(index)", type: .backup, status: .created, createdAt: Date(timeIntervalSince1970: 1000))
            record.enter(.concluded, at: Date(timeIntervalSince1970: 1000 + Double(index)))
            record.enter(.null, at: Date(timeIntervalSince1970: 1000 + Double(index)))
            try store.save(record)
        }
        var live = JobRecord(id: "live", type: .backup, status: .created, createdAt: Date(timeIntervalSince1970: 0))
        live.enter(.running, at: Date(timeIntervalSince1970: 1))
        try store.save(live)
        let manager = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(), store: store,
            retention: RetentionPolicy(maxAge: .seconds(100), maxCount: 2),
            events: EventHub(encoding: ServerSentEvents()), logger: Logger(label: "test"))
        await manager.restore(now: Date(timeIntervalSince1970: 1050))
        store.flush()  // deletions are written with the next checkpoint
        // Nothing is older than 100 s at 1050; beyond the count of 2 the three oldest finished records go.
        #expect(manager.book.count == 3)
        let onDisk = { try SnapshotStore(dataDirectory: self.dataDirectory, logger: Logger(label: "test")).loadAll() }
        #expect(try onDisk().map(\.id).sorted() == ["live", "old3", "old4"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted() == ["archive", "live~1.json"])
        // At 1200 every finished record is older than 100 s; the live one stays.
        await manager.prune(now: Date(timeIntervalSince1970: 1200))
        store.flush()
        #expect(manager.book.count == 1)
        #expect(try onDisk().map(\.id) == ["live"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory + "/archive") == [])
        #expect(manager.book.record("live") != nil)
    }
}
