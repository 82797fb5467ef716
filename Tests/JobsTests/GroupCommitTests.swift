import Foundation
import Gateway
import JSON
import JobModel
import Logging
import QMP
import Store
import TestSupport
import Testing

@testable import Jobs

/// A burst of engine events applied as one batch: records on disk, in the book, in the journal and on the
/// stream all agree, in order, with no gaps in the event ids.
@Suite final class GroupCommitTests {
    let dataDirectory = NSTemporaryDirectory() + "commit-\(UUID().uuidString.prefix(8))"

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    func event(_ name: String, _ data: JSONValue) -> QMPSignal {
        .event(QMPEvent(name: name, data: data, timestamp: Date()))
    }

    func status(_ id: String, _ status: JobStatus) -> QMPSignal {
        event("JOB_STATUS_CHANGE", ["id": .string(id), "status": .string(status.rawValue)])
    }

    @Test("two jobs' bursts, a drain pair and a reused id in one batch")
    func burst() async throws {
        let logger = Logger(label: "test")
        let store = try SnapshotStore(dataDirectory: dataDirectory, logger: logger)
        let journal = try EventJournal(dataDirectory: dataDirectory)
        let hub = EventHub(encoding: ServerSentEvents())
        let manager = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(), store: store, journal: journal,
            book: JobBook(epoch: 3), events: hub, logger: logger)
        await manager.restore()
        let subscription = try hub.subscribe(filter: EventFilter(), after: nil, current: manager.book.currentEventID)

        let (stream, continuation) = AsyncStream.makeStream(of: QMPSignal.self)
        for signal in [
            status("a", .created), status("a", .running), status("b", .created), status("b", .running),
            status("a", .paused), status("a", .running),  // a drain pair
            status("a", .waiting), status("a", .pending),
            event("BLOCK_JOB_COMPLETED", ["device": "a", "type": "backup", "len": 10, "offset": 10, "speed": 0]),
            status("a", .concluded), status("a", .null),
            status("a", .created), status("a", .running),  // the id reused at once: run 2
        ] {
            continuation.yield(signal)
        }
        continuation.finish()
        await manager.run(signals: stream)

        #expect(manager.book.runs(of: "a").map(\.run) == [1, 2])
        #expect(manager.book.runs(of: "a").map(\.status) == [.null, .running])
        #expect(manager.book.record("b")?.status == .running)
        let first = try #require(manager.book.runs(of: "a").first)
        #expect(
            first.statusHistory.map(\.status) == [
                .created, .running, .paused, .running, .waiting, .pending, .concluded, .null,
            ])
        #expect(first.currentProgress == 10)

        // On disk: what the book holds, for every run.
        let stored = try SnapshotStore(dataDirectory: dataDirectory, logger: logger).loadSnapshots()
        #expect(stored.count == 3)
        for loaded in stored {
            let inBook = try #require(manager.book.record(loaded.record.id, run: loaded.record.run))
            #expect(loaded.record.status == inBook.status)
            // (Times are stored to the microsecond, so compare what they say, not the values.)
            #expect(
                loaded.record.isPartial
                    || loaded.record.statusHistory.map(\.status) == inBook.statusHistory.map(\.status))
        }

        // The journal and the stream: every event once (12 status changes, 1 BLOCK_JOB_COMPLETED), ids in order.
        let names = journal.recent().compactMap { $0["event"]?.stringValue }
        let ids = journal.recent().compactMap { $0["id"]?.stringValue }
        #expect(ids == (1...13).map { "3-\($0)" })
        #expect(names.filter { $0 == "JOB_STATUS_CHANGE" }.count == 12)
        #expect(names[8] == "BLOCK_JOB_COMPLETED")
        #expect(manager.book.eventCursor == "3-13")
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let read = buffer.withUnsafeMutableBytes { subscription.read(into: $0, suspend: {}) }
        guard case .bytes(let count) = read else {
            Issue.record("nothing to read: \(read)")
            return
        }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) } == ids)
    }
}
