import Foundation
import JobModel
import Testing

@testable import Store

/// The event journal: durable appends, bounded size, a torn last line skipped.
@Suite final class EventJournalTests {
    let dataDirectory = NSTemporaryDirectory() + "journal-\(UUID().uuidString.prefix(8))"

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    @Test("events come back in order; the journal rotates and keeps the recent ones")
    func appendAndRotate() throws {
        let journal = try EventJournal(dataDirectory: dataDirectory, maximumBytes: 400)
        for sequence in 1...60 {
            try journal.append(["id": .string("1-\(sequence)"), "status": "running"])
        }
        let ids = journal.recent().compactMap { $0["id"]?.stringValue }
        #expect(ids.last == "1-60")
        #expect(ids.count < 60, "nothing was rotated away")
        #expect(ids == ids.sorted { Int($0.dropFirst(2))! < Int($1.dropFirst(2))! })
        let data = try #require(FileManager.default.contents(atPath: journal.currentPath))
        #expect(JournalFile.dataLength(of: data) <= 400)
    }

    @Test("a torn last line (a crash mid-write) is skipped, the rest is read")
    func tornLine() throws {
        let journal = try EventJournal(dataDirectory: dataDirectory)
        try journal.append(["id": "1-1"])
        // A crash mid-write: the line is cut short before the zeros laid down ahead.
        let handle = try #require(FileHandle(forUpdatingAtPath: journal.currentPath))
        let data = handle.readDataToEndOfFile()
        handle.seek(toFileOffset: UInt64(JournalFile.dataLength(of: data)))
        handle.write(Data(#"{"id":"1-2","sta"#.utf8))
        try handle.close()
        #expect(journal.recent().map { $0["id"] } == ["1-1"])
        // A new journal (a restart) goes on after the torn line, which stays one unreadable line.
        let reopened = try EventJournal(dataDirectory: dataDirectory)
        _ = reopened.load(eventLimit: 10, checkpoint: 0)
        try reopened.append(["id": "2-1"])
        #expect(reopened.recent().map { $0["id"] } == ["1-1", "2-1"])
    }
}
