import Foundation
import JSON
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
        let text = try #require(store.loadSnapshots().first { $0.record.id == "b1" }?.json)
        #expect(try JobRecord(json: JSONValue.parse(text)) == ended)
        #expect(loaded[1].finalStats?.outcome == .cancelled)
        #expect(loaded[1].finalStats?.durationSeconds == 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted()
        // The finished one went to the archive, not to a file of its own.
        #expect(files == ["archive", "b0~1.json"])
    }

    @Test("finished records left in files of their own move into the archive, and load the same from there")
    func looseRecordsMove() throws {
        let store = try makeStore()
        let ended = (0..<3).map { record("old\($0)", status: .null) }
        for record in ended {
            // The layout of an earlier jobgate (or of a crash between archiving and deleting the file).
            try SnapshotStore.encode(record).write(to: URL(fileURLWithPath: store.directory + "/\(record.id)~1.json"))
        }
        try store.save(record("live"))
        let before = store.loadSnapshots()
        #expect(before.filter(\.isArchived).isEmpty && before.count == 4)
        store.archiveLooseRecords(before, batch: 2)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted() == ["archive", "live~1.json"])
        let after = try makeStore().loadSnapshots()
        #expect(after.filter(\.isArchived).map(\.record.id).sorted() == ["old0", "old1", "old2"])
        for loaded in after where loaded.isArchived {
            #expect(loaded.json == before.first { $0.record.id == loaded.record.id }?.json)
            #expect(try JobRecord(json: JSONValue.parse(loaded.json!)) == ended.first { $0.id == loaded.record.id })
        }
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
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted() == ["archive", "good~1.json"])
        #expect(throws: StoreError.unknownVersion(file: "x", version: 99)) {
            try SnapshotStore.decode(Data(#"{"version": 99}"#.utf8), file: "x")
        }
    }

    @Test("the bytes written for one change do not depend on how many records exist")
    func costIndependentOfCount() throws {
        let store = try makeStore()
        let emptyDirectory = dataDirectory + "-empty"
        defer { try? FileManager.default.removeItem(atPath: emptyDirectory) }
        let empty = try SnapshotStore(dataDirectory: emptyDirectory, logger: Logger(label: "test"))
        for index in 0..<500 {
            try store.save(record("r\(index)", status: .null))
            try store.save(record("l\(index)"))
        }
        for (status, file) in [(JobStatus.running, "probe~1.json"), (.null, "archive")] {
            let probe = record("probe", status: status)
            let before = (try diskUsage(store.directory + "/" + file), try diskUsage(empty.directory + "/" + file))
            try store.save(probe)
            try empty.save(probe)
            let after = (try diskUsage(store.directory + "/" + file), try diskUsage(empty.directory + "/" + file))
            // Equal, but for the digits of the text's offset in an archive index line.
            #expect(abs((after.0 - before.0) - (after.1 - before.1)) <= 8, "\(status)")
            #expect(after.0 > before.0)
        }
    }

    /// The bytes in a file, or in the files of a directory (0 if it does not exist).
    func diskUsage(_ path: String) throws -> Int {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return 0 }
        guard isDirectory.boolValue else {
            return try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        }
        return try FileManager.default.contentsOfDirectory(atPath: path).reduce(0) {
            $0 + (try diskUsage(path + "/" + $1))
        }
    }
}
