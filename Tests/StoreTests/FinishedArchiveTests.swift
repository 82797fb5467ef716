import Foundation
import JSON
import JobModel
import Logging
import Testing

@testable import Store

/// The archive of finished records: appending, loading, segments, retention, and what a crash leaves.
@Suite final class FinishedArchiveTests {
    let root = NSTemporaryDirectory() + "archive-\(UUID().uuidString.prefix(8))"
    var directory: String { root + "/archive" }
    var quarantine: String { root + "/quarantine" }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func makeArchive(capacity: Int = 3) throws -> FinishedArchive {
        try FinishedArchive(
            directory: directory, quarantineDirectory: quarantine, segmentCapacity: capacity,
            logger: Logger(label: "test"))
    }

    func finished(_ id: String, run: Int = 1) -> (record: JobRecord, text: Data) {
        var record = JobRecord(
            id: id, type: .mirror, status: .created, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
        record.run = run
        record.request = ["type": "mirror", "id": .string(id), "device": "src"]
        record.enter(.running, at: Date(timeIntervalSince1970: 1_700_000_001))
        record.currentProgress = 1000
        record.totalProgress = 1000
        record.enter(.concluded, at: Date(timeIntervalSince1970: 1_700_000_002.5))
        record.enter(.null, at: Date(timeIntervalSince1970: 1_700_000_003))
        return (record, record.json(now: Date()).serialized())
    }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("appended records load back partial, with their exact texts, across segments")
    func roundTrip() throws {
        let records = (0..<7).map { finished("m\($0)") }
        try makeArchive().append(records: Array(records[..<2]))
        try makeArchive().append(records: Array(records[2...]))
        #expect(try files() == ["1.data", "1.index", "2.data", "2.index", "3.data", "3.index"])
        let loaded = try makeArchive().load().sorted { $0.key < $1.key }
        #expect(loaded.map(\.key) == records.map { "\($0.record.id)~1" })
        for (entry, original) in zip(loaded, records) {
            #expect(entry.record.isPartial)
            #expect(entry.text == original.text)
            #expect(try JobRecord(json: JSONValue.parse(entry.text)) == original.record)
            #expect(entry.record.createdAt == original.record.createdAt)
            #expect(entry.record.updatedAt == original.record.updatedAt)
            #expect(entry.record.finalStats?.outcome == .completed)
            #expect(entry.record.finalStats?.durationSeconds == original.record.finalStats?.durationSeconds)
        }
    }

    @Test("a torn last index line is cut off and the archive appends after it")
    func tornTail() throws {
        try makeArchive(capacity: 10).append(records: [finished("a"), finished("b")])
        let index = directory + "/1.index"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: index))
        try bytes.prefix(bytes.count - 20).write(to: URL(fileURLWithPath: index))
        let archive = try makeArchive(capacity: 10)
        #expect(archive.load().map(\.key) == ["a~1"])
        try archive.append(records: [finished("c")])
        #expect(try makeArchive(capacity: 10).load().map(\.key).sorted() == ["a~1", "c~1"])
        #expect(!FileManager.default.fileExists(atPath: quarantine))
    }

    @Test("unreadable and future-version index lines are quarantined; the rest loads")
    func quarantined() throws {
        try makeArchive(capacity: 10).append(records: [finished("a"), finished("b")])
        let index = URL(fileURLWithPath: directory + "/1.index")
        var lines = try String(contentsOf: index, encoding: .utf8).split(separator: "\n").map(String.init)
        lines.insert("{\"length\": 12, garbage", at: 1)
        lines.append("[7" + lines[0].dropFirst(2))  // a future schema version
        lines.append(
            #"[1,999999,5,"x",1,null,"2023-11-14T22:13:20Z","2023-11-14T22:13:20Z",0,0,null,1,null,null,null,null]"#)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: index)
        #expect(try makeArchive(capacity: 10).load().map(\.key).sorted() == ["a~1", "b~1"])
        let moved = try FileManager.default.contentsOfDirectory(atPath: quarantine)
        #expect(moved.count == 1)
        let text = try String(contentsOfFile: quarantine + "/" + moved[0], encoding: .utf8)
        #expect(text.split(separator: "\n").count == 3)
        #expect(text.contains("garbage") && text.contains("[7,") && text.contains("999999"))
        // The index was rewritten without them: a second start finds nothing to quarantine.
        #expect(try makeArchive(capacity: 10).load().count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: quarantine).count == 1)
    }

    @Test("removal deletes emptied segments and rewrites the others with their survivors")
    func removal() throws {
        let archive = try makeArchive()
        try archive.append(records: (0..<6).map { finished("r\($0)") })
        try archive.remove(keys: ["r0~1", "r1~1", "r2~1", "r4~1", "unknown~1"])
        #expect(try files() == ["3.data", "3.index"])
        #expect(try makeArchive().load().map(\.key).sorted() == ["r3~1", "r5~1"])
        #expect(!archive.holds("r4~1") && archive.holds("r5~1"))
    }

    @Test("after a crash a record in two segments loads once; a data file without its index is deleted")
    func duplicates() throws {
        let first = finished("d")
        try makeArchive(capacity: 1).append(records: [first, finished("e")])
        // A rewrite that crashed before deleting the old segment: the record is in 1 and in 3.
        try FileManager.default.copyItem(atPath: directory + "/1.data", toPath: directory + "/3.data")
        try FileManager.default.copyItem(atPath: directory + "/1.index", toPath: directory + "/3.index")
        try Data("{}\n".utf8).write(to: URL(fileURLWithPath: directory + "/9.data"))
        let loaded = try makeArchive(capacity: 1).load()
        #expect(loaded.map(\.key).sorted() == ["d~1", "e~1"])
        // Segment 1 held only what 3 supersedes, so it is gone, as is the orphan.
        #expect(try files() == ["2.data", "2.index", "3.data", "3.index"])
    }
}
