import Foundation
import Gateway
import JobModel
import Logging
import QMP
import Store
import TestSupport
import Testing

@testable import Jobs

/// While the journal cannot take writes, engine changes are held: not visible, not sent, the data directory marked
/// failing; once it takes writes again they are written, then published in order.
@Suite final class HeldChangesTests {
    let dataDirectory = NSTemporaryDirectory() + "held-\(UUID().uuidString.prefix(8))"

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    func status(_ id: String, _ status: JobStatus) -> QMPSignal {
        .event(
            QMPEvent(
                name: "JOB_STATUS_CHANGE", data: ["id": .string(id), "status": .string(status.rawValue)],
                timestamp: Date()))
    }

    @Test("changes are held while the journal fails, then written and published in order")
    func heldThenPublished() async throws {
        let logger = Logger(label: "test")
        let journal = try EventJournal(dataDirectory: dataDirectory, idleClose: .milliseconds(1))
        let storage = StorageHealth(dataDirectory: dataDirectory)
        let store = try SnapshotStore(
            dataDirectory: dataDirectory, flushDelay: 3600, journal: journal, health: storage, logger: logger)
        let hub = EventHub(encoding: ServerSentEvents())
        let manager = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(), store: store, journal: journal,
            storage: storage, book: JobBook(epoch: 1), events: hub, logger: logger)
        await manager.restore()
        let subscription = try hub.subscribe(filter: EventFilter(), after: nil, current: manager.book.currentEventID)
        await manager.apply([status("a", .created)])
        await manager.apply([status("a", .running)])
        #expect(storage.isHealthy)

        // The journal's directory becomes unusable (once the idle file is closed).
        try await Task.sleep(for: .milliseconds(50))
        let events = dataDirectory + "/events"
        try FileManager.default.moveItem(atPath: events, toPath: events + ".away")
        FileManager.default.createFile(atPath: events, contents: Data())
        await manager.apply([status("a", .paused)])
        await manager.apply([status("a", .running), status("a", .waiting)])
        #expect(!storage.isHealthy, "the failed journal write did not mark the data directory failing")
        #expect(storage.failure?.reason.contains("journal") == true, "\(String(describing: storage.failure))")
        #expect(manager.book.record("a")?.status == .running, "a held change became visible")
        #expect(manager.book.record("a")?.statusHistory.count == 2)
        await manager.retryStorage()
        #expect(!storage.isHealthy, "recovered while the journal still fails")

        try FileManager.default.removeItem(atPath: events)
        try FileManager.default.moveItem(atPath: events + ".away", toPath: events)
        await manager.retryStorage()
        #expect(storage.isHealthy)
        #expect(
            manager.book.record("a")?.statusHistory.map(\.status) == [.created, .running, .paused, .running, .waiting])
        var received: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while case .bytes(let count) = buffer.withUnsafeMutableBytes({ subscription.read(into: $0) {} }) {
            received.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        let text = received.joined()
        let statuses = text.components(separatedBy: #""status":""#).dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(statuses == ["created", "running", "paused", "running", "waiting"], "\(text)")
        // And they are in the journal: a new manager replays them.
        let replayed = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(),
            store: try SnapshotStore(dataDirectory: dataDirectory, logger: logger),
            journal: try EventJournal(dataDirectory: dataDirectory), events: EventHub(encoding: ServerSentEvents()),
            logger: logger)
        await replayed.restore()
        #expect(replayed.book.record("a")?.status == .waiting)
    }

    @Test("a creation whose events are held adopts the held run instead of starting another")
    func creationAdoptsHeldRun() async throws {
        let logger = Logger(label: "test")
        let journal = try EventJournal(dataDirectory: dataDirectory, idleClose: .milliseconds(1))
        let storage = StorageHealth(dataDirectory: dataDirectory)
        let manager = JobManager(
            engine: ScriptedEngine(), policy: testPolicy(), status: EngineStatus(),
            store: try SnapshotStore(
                dataDirectory: dataDirectory, flushDelay: 3600, journal: journal, health: storage, logger: logger),
            journal: journal, storage: storage, events: EventHub(encoding: ServerSentEvents()), logger: logger)
        await manager.restore()
        let start = Date()
        await manager.apply([status("warm", .created)])
        try await Task.sleep(for: .milliseconds(50))
        let events = dataDirectory + "/events"
        try FileManager.default.moveItem(atPath: events, toPath: events + ".away")
        FileManager.default.createFile(atPath: events, contents: Data())
        await manager.apply([status("q", .created), status("q", .running)])
        #expect(manager.book.record("q") == nil)
        try FileManager.default.removeItem(atPath: events)
        try FileManager.default.moveItem(atPath: events + ".away", toPath: events)
        // The creation's reply comes now; the disk takes writes again.
        let adopted = try await manager.adopt("q", type: .backup, arguments: [:], request: ["id": "q"], since: start)
        #expect(adopted.run == 1)
        #expect(adopted.status == .running)
        #expect(manager.book.runs(of: "q").count == 1, "\(manager.book.runs(of: "q").map { ($0.run, $0.status) })")
        #expect(manager.book.record("q")?.request == ["id": "q"])
    }

    @Test("while held, a progress-only state superseded by a later step is dropped; events beyond the limit too")
    func heldChangesAreBounded() {
        var held = StagedChanges()
        var record = JobRecord(id: "a", type: .backup, status: .running, createdAt: Date())
        for progress in 0..<100 {
            var batch = StagedChanges()
            record.currentProgress = Int64(progress)
            batch.stage(.put(record, announcing: false), of: record, durably: false)
            held.append(batch)
        }
        #expect(held.steps.count == 1, "progress states pile up while held: \(held.steps.count)")
        var events = StagedChanges()
        for _ in 0..<(StagedChanges.heldEventLimit + 5) {
            events.stage(
                .event { id in JobEvent(id: id, name: "BLOCK_JOB_ERROR", job: "a", jobType: nil, data: [:], at: Date())
                }, of: nil, durably: false)
        }
        #expect(held.append(events) == 5)
        #expect(held.steps.filter(\.isEvent).count == StagedChanges.heldEventLimit)
        #expect(held.latest["a"]?.currentProgress == 99)
    }
}
