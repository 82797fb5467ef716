import Foundation
import Gateway
import JobModel
import Logging
import QMP
import TestSupport
import Testing

@testable import Jobs
@testable import Store

/// The journal as the write-ahead log: a change is durable once its line is in the journal; record files are
/// checkpoints written later; start-up replays the journal after the last checkpoint.
@Suite final class WriteAheadTests {
    let dataDirectory = NSTemporaryDirectory() + "wal-\(UUID().uuidString.prefix(8))"
    let logger = Logger(label: "test")

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    /// A manager on the data directory whose checkpoints never run by themselves (the test flushes).
    func manager(retention: RetentionPolicy = RetentionPolicy()) throws -> (JobManager, SnapshotStore, EventJournal) {
        let journal = try EventJournal(dataDirectory: dataDirectory)
        let store = try SnapshotStore(dataDirectory: dataDirectory, flushDelay: 3600, journal: journal, logger: logger)
        let manager = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(), store: store, journal: journal,
            retention: retention, events: EventHub(encoding: ServerSentEvents()), logger: logger)
        return (manager, store, journal)
    }

    func status(_ id: String, _ status: JobStatus, at seconds: Double) -> QMPSignal {
        .event(
            QMPEvent(
                name: "JOB_STATUS_CHANGE", data: ["id": .string(id), "status": .string(status.rawValue)],
                timestamp: Date(timeIntervalSince1970: 1_800_000_000 + seconds)))
    }

    /// Applies each status change as a batch of its own, as events arriving one by one would be.
    func apply(_ manager: JobManager, _ id: String, _ statuses: [JobStatus], from start: Double = 0) async {
        for (index, next) in statuses.enumerated() {
            await manager.apply([status(id, next, at: start + Double(index))])
        }
    }

    func journalText() throws -> String {
        let data = try #require(FileManager.default.contents(atPath: dataDirectory + "/events/journal.jsonl"))
        return String(decoding: data.prefix(JournalFile.dataLength(of: data)), as: UTF8.self)
    }

    @Test("changes only in the journal come back on replay, status changes as deltas, final stats exactly")
    func replayWithoutCheckpoint() async throws {
        let (first, _, _) = try manager()
        await first.restore()
        await apply(first, "a", [.created, .running, .paused, .running])
        await apply(first, "b", [.created, .running, .waiting, .pending, .concluded, .null], from: 10)
        let a = try #require(first.book.record("a"))
        let b = try #require(first.book.record("b"))
        #expect(b.finalStats != nil)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/records").filter {
                $0.hasSuffix(".json")
            } == [], "a record file was written on the path of a change")
        let text = try journalText()
        #expect(text.contains(#""status":{"#), "no status change was journalled as a delta")
        #expect(
            text.components(separatedBy: #""record":{"#).count - 1 == 3, "whole records: two creations, concluded"
        )

        let (second, store, journal) = try manager()
        await second.restore()
        #expect(second.book.record("a") == a)
        let replayedB = try #require(second.book.record("b"))
        #expect(replayedB.statusHistory == b.statusHistory)
        #expect(replayedB.finalStats == b.finalStats)
        // What was replayed is checkpointed at once.
        #expect(store.checkpointLSN == journal.lastLSN)
        #expect(FileManager.default.fileExists(atPath: dataDirectory + "/records/a~1.json"))
    }

    @Test("a checkpoint in the middle: the lines after it are replayed onto it")
    func replayAfterCheckpoint() async throws {
        let (first, store, journal) = try manager()
        await first.restore()
        await apply(first, "a", [.created, .running, .paused])
        #expect(store.flush())
        #expect(store.checkpointLSN == journal.lastLSN)
        await apply(first, "a", [.running, .paused, .running], from: 3)
        let expected = try #require(first.book.record("a"))

        let (second, _, _) = try manager()
        await second.restore()
        #expect(second.book.record("a")?.statusHistory == expected.statusHistory)
        #expect(second.book.record("a")?.status == .running)
    }

    @Test("a forgotten run stays forgotten across a replay, before any checkpoint deleted its file")
    func forgetIsJournalled() async throws {
        let (first, store, _) = try manager(retention: RetentionPolicy(maxAge: nil, maxCount: 0))
        await first.restore()
        await apply(first, "gone", [.created, .running, .waiting, .pending, .concluded, .null])
        #expect(store.flush())  // the finished run is archived
        await first.prune(now: Date())
        #expect(first.book.record("gone") == nil)

        let (second, _, _) = try manager(retention: RetentionPolicy(maxAge: nil, maxCount: nil))
        await second.restore()
        #expect(second.book.record("gone") == nil, "a forgotten run came back")
    }

    @Test("the journal rotates only once the checkpoint covers the file it would drop")
    func rotationWaitsForCheckpoint() throws {
        let journal = try EventJournal(dataDirectory: dataDirectory, maximumBytes: 2000)
        let record = Data(#"{"id":"x"}"#.utf8)
        for _ in 0..<140 { try journal.append(changes: [.record(record)], events: [], durable: false) }
        // The first rotation drops nothing (no previous file yet); the second would drop uncheckpointed lines.
        let afterFirst = try JournalFile.dataLength(
            of: #require(FileManager.default.contents(atPath: journal.previousPath)))
        #expect(afterFirst > 0)
        let current = try #require(FileManager.default.contents(atPath: journal.currentPath))
        #expect(JournalFile.dataLength(of: current) > 2000, "the current file stopped growing although not covered")
        journal.noteCheckpoint(through: journal.lastLSN)
        try journal.append(changes: [.record(record)], events: [], durable: false)
        let rotated = try #require(FileManager.default.contents(atPath: journal.currentPath))
        #expect(JournalFile.dataLength(of: rotated) < 100, "no rotation once the checkpoint covered the journal")
    }
}
