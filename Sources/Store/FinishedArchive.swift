import Foundation
import JobModel
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Finished job records packed into append-only segments: `<records>/archive/<n>.data` and `<n>.index`.
///
/// A record whose job is gone from QEMU (`null`) never changes again, and there may be a great many of them; one
/// file each would make start-up open every one. A segment's data file holds record JSON texts, one per line; its
/// index file one short line per record with the listing fields and where the text is
/// (`JobRecord.ArchiveIndexEntry`, FinishedRecordFormats.swift). Start-up reads the indexes and maps the data files; texts are served from the
/// mappings as they are.
///
/// Appending costs one write and one fsync per file, whatever the number of records. Removing records (retention)
/// deletes a segment left without records, or writes its survivors into a new segment: the cost is bounded by the
/// segment size. A crash can leave a record in two segments (the newest segment wins, and within a segment the
/// last line) or a data file without its index (deleted); a torn last index line is cut off; any other unreadable
/// or unknown-version index line is moved to the quarantine directory with a warning.
final class FinishedArchive: Sendable {
    /// Records per segment: bounds the cost of rewriting one.
    let segmentCapacity: Int

    struct State {
        /// The segment holding each record (`id~run`).
        var owner: [String: Int] = [:]
        /// Per segment: records it holds that no newer line supersedes, and index lines in all.
        var live: [Int: Int] = [:]
        var lines: [Int: Int] = [:]
        /// The number the next new segment gets.
        var next = 1
        /// Whether `load` has run: appending and removing need to know the segments.
        var loaded = false
    }

    /// A record read from the archive: partial (listing fields), with its full JSON text.
    struct Loaded {
        var key: String
        var record: JobRecord
        var text: Data
    }

    let directory: String
    private let quarantineDirectory: String
    private let logger: Logger
    let state = Mutex(State())

    init(directory: String, quarantineDirectory: String, segmentCapacity: Int = 4096, logger: Logger) throws {
        precondition(segmentCapacity > 0)
        self.segmentCapacity = segmentCapacity
        self.directory = directory
        self.quarantineDirectory = quarantineDirectory
        self.logger = logger
        try DataDirectory.makePrivateDirectory(directory)
    }

    /// Whether the archive holds the record `key` (`id~run`).
    func holds(_ key: String) -> Bool {
        ensureLoaded()
        return state.withLock { $0.owner[key] != nil }
    }

    /// Loads the segments (discarding the records) if nothing did yet.
    func ensureLoaded() {
        if !state.withLock({ $0.loaded }) { _ = load() }
    }

    func path(_ segment: Int, _ kind: String) -> String {
        "\(directory)/\(segment).\(kind)"
    }

    /// Reads every segment, starting afresh. See the type's notes for what a crash leaves and how it is repaired.
    func load() -> [Loaded] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".tmp") { unlink(directory + "/" + name) }
        let indexed = Set(names.compactMap { $0.hasSuffix(".index") ? Int($0.dropLast(6)) : nil })
        for name in names where name.hasSuffix(".data") {
            if let segment = Int(name.dropLast(5)), !indexed.contains(segment) { unlink(directory + "/" + name) }
        }
        let segments = indexed.sorted(by: >)
        let parsed = Mutex([Int: [Loaded]]())
        DispatchQueue.concurrentPerform(iterations: segments.count) { position in
            let read = readSegment(segments[position])
            parsed.withLock { $0[segments[position]] = read }
        }
        let reads = parsed.withLock { $0 }
        let total = reads.values.reduce(0) { $0 + $1.count }
        var loaded: [Loaded] = []
        loaded.reserveCapacity(total)
        var empty: [Int] = []
        state.withLock { state in
            state = State()
            state.owner.reserveCapacity(total)
            state.loaded = true
            state.next = (segments.first ?? 0) + 1
            for segment in segments {
                guard let read = reads[segment] else { continue }
                state.lines[segment] = read.count
                for entry in read.reversed() where state.owner[entry.key] == nil {
                    state.owner[entry.key] = segment
                    state.live[segment, default: 0] += 1
                    loaded.append(entry)
                }
                if state.live[segment, default: 0] == 0 {
                    state.lines[segment] = nil
                    empty.append(segment)
                }
            }
        }
        for segment in empty { deleteSegment(segment) }
        return loaded
    }

    /// Reads one segment's index and maps its data; repairs a torn tail and quarantines bad lines.
    /// - Returns: nil if the files cannot be read (the segment is then left alone, not taken for empty).
    private func readSegment(_ segment: Int) -> [Loaded]? {
        let indexPath = path(segment, "index")
        let bytes: [UInt8]
        let data: Data
        do {
            bytes = try MappedFile.read(indexPath) ?? []
            data = try MappedFile.map(path: path(segment, "data"))
        } catch {
            logger.error("could not read an archive segment", metadata: ["segment": "\(segment)", "error": "\(error)"])
            return nil
        }
        let (entries, parsedBad, complete) = JobRecord.archiveIndex(bytes, version: SnapshotStore.schemaVersion)
        var read: [Loaded] = []
        var bad = parsedBad
        read.reserveCapacity(entries.count)
        for entry in entries {
            let start = data.startIndex + entry.offset
            let end = start + entry.length
            guard end <= data.endIndex, data[start] == UInt8(ascii: "{"), data[end - 1] == UInt8(ascii: "}") else {
                bad.append((entry.line, "the record text is not where the index says"))
                continue
            }
            read.append(
                Loaded(key: entry.record.runKey, record: entry.record, text: data[start..<end]))
        }
        if !bad.isEmpty || complete < bytes.count {
            repair(segment, bytes: bytes, bad: bad, complete: complete)
        }
        return read
    }

    /// Rewrites an index without its bad lines (moved to the quarantine directory) and its torn tail.
    private func repair(_ segment: Int, bytes: [UInt8], bad: [(lines: Range<Int>, reason: String)], complete: Int) {
        var kept = Data()
        var removed = Data()
        var position = 0
        for (range, _) in bad.sorted(by: { $0.lines.lowerBound < $1.lines.lowerBound }) {
            kept.append(contentsOf: bytes[position..<range.lowerBound])
            removed.append(contentsOf: bytes[range])
            position = range.upperBound
        }
        kept.append(contentsOf: bytes[position..<complete])
        do {
            if !removed.isEmpty {
                try DataDirectory.makePrivateDirectory(quarantineDirectory)
                let target = "\(quarantineDirectory)/archive-\(segment).index.\(Int(Date().timeIntervalSince1970))"
                try AtomicFile.write(removed, to: target)
                logger.warning(
                    "quarantined archive index lines",
                    metadata: [
                        "segment": "\(segment)", "lines": "\(bad.count)", "moved_to": "\(target)",
                        "reason": "\(bad.first?.reason ?? "")",
                    ])
            }
            if complete < bytes.count {
                logger.warning(
                    "cut a torn last line off an archive index",
                    metadata: ["segment": "\(segment)", "bytes": "\(bytes.count - complete)"])
            }
            try AtomicFile.write(kept, to: path(segment, "index"))
        } catch {
            logger.error("could not repair an archive index", metadata: ["segment": "\(segment)", "error": "\(error)"])
        }
    }

    func deleteSegment(_ segment: Int) {
        unlink(path(segment, "index"))
        unlink(path(segment, "data"))
        try? AtomicFile.syncDirectory(directory)
    }
}
