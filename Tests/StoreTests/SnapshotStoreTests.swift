import Foundation
import JobModel
import Logging
import Testing

@testable import Store

/// Snapshot files: round trip, atomic replacement, quarantine of what cannot be read.
@Suite final class SnapshotStoreTests {
    let dataDirectory = NSTemporaryDirectory() + "store-\(UUID().uuidString.prefix(8))"

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    func makeStore() throws -> SnapshotStore {
        try SnapshotStore(dataDirectory: dataDirectory, flushDelay: 0.05, logger: Logger(label: "test"))
    }

    func record(_ id: String, run: Int = 1, status: JobStatus = .running) -> JobRecord {
        var record = JobRecord(
            id: id, type: .backup, status: .created, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
        record.run = run
        record.enter(.running, at: Date(timeIntervalSince1970: 1_700_000_001))
        record.currentProgress = 4096
        record.totalProgress = 65536
        record.request = ["type": "backup", "id": .string(id)]
        if status == .concluded || status == .null {
            record.error = "Operation canceled"
            record.enter(.aborting, at: Date(timeIntervalSince1970: 1_700_000_002))
            record.enter(.concluded, at: Date(timeIntervalSince1970: 1_700_000_003))
        }
        if status == .null { record.enter(.null, at: Date(timeIntervalSince1970: 1_700_000_004)) }
        return record
    }

    @Test("records round-trip through their files, frozen stats included")
    func roundTrip() throws {
        let store = try makeStore()
        let live = record("b0")
        let ended = record("b1", run: 2, status: .null)
        try store.save(live)
        try store.save(ended)
        let loaded = try makeStore().loadAll().sorted { $0.id < $1.id }
        #expect(loaded.count == 2)
        #expect(loaded[0] == live)
        // A finished record comes back partial, with its stored text; decoding the file fully gives it whole.
        #expect(loaded[1].isPartial)
        #expect(loaded[1].id == "b1" && loaded[1].run == 2 && loaded[1].status == .null)
        let file = try Data(contentsOf: URL(fileURLWithPath: store.directory + "/b1~2.json"))
        #expect(try SnapshotStore.decode(file, file: "b1~2.json") == ended)
        let text = try #require(store.loadSnapshots().first { $0.record.id == "b1" }?.json)
        #expect(try JobRecord(json: JSONValue.parse(text)) == ended)
        #expect(loaded[1].finalStats?.outcome == .cancelled)
        #expect(loaded[1].finalStats?.durationSeconds == 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted()
        #expect(files == ["b0~1.json", "b1~2.json"])
    }

    @Test("coalesced saves write the latest state; a save supersedes a pending one")
    func coalescing() async throws {
        let store = try makeStore()
        var record = record("c0")
        for bytes in [1, 2, 3] as [Int64] {
            record.currentProgress = bytes
            store.saveSoon(record)
        }
        store.flush()
        #expect(store.loadAll().first?.currentProgress == 3)
        record.currentProgress = 9
        store.saveSoon(record)
        record.currentProgress = 10
        try store.save(record)
        try await Task.sleep(for: .milliseconds(200))
        #expect(store.loadAll().first?.currentProgress == 10)
    }

    @Test("a corrupt file and a future schema version are quarantined; the rest loads")
    func quarantine() throws {
        let store = try makeStore()
        try store.save(record("good"))
        try Data("{\"version\": 1, \"record\": {\"id\": ".utf8).write(
            to: URL(fileURLWithPath: store.directory + "/torn~1.json"))
        try Data(#"{"version": 99, "record": {}}"#.utf8).write(
            to: URL(fileURLWithPath: store.directory + "/future~1.json"))
        try Data("half".utf8).write(to: URL(fileURLWithPath: store.directory + "/good~1.json.tmp"))
        let loaded = store.loadAll()
        #expect(loaded.map(\.id) == ["good"])
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: store.quarantineDirectory)
        #expect(quarantined.count == 2)
        #expect(quarantined.contains { $0.hasPrefix("torn~1.json") })
        #expect(quarantined.contains { $0.hasPrefix("future~1.json") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory) == ["good~1.json"])
        #expect(throws: StoreError.unknownVersion(file: "x", version: 99)) {
            try SnapshotStore.decode(Data(#"{"version": 99}"#.utf8), file: "x")
        }
    }

    @Test("the bytes written for one change do not depend on how many records exist")
    func costIndependentOfCount() throws {
        let store = try makeStore()
        let probe = record("probe", status: .null)
        let alone = try SnapshotStore.encode(probe).count
        for index in 0..<500 { try store.save(record("r\(index)", status: .null)) }
        try store.save(probe)
        let size = try FileManager.default.attributesOfItem(atPath: store.directory + "/probe~1.json")[.size] as? Int
        #expect(size == alone)
    }
}
