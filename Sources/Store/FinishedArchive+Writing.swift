import Foundation
import JobModel

#if canImport(Glibc)
    import Glibc
#endif

extension FinishedArchive {
    /// Appends finished records durably (both files written and fsynced before it returns), in the order given.
    /// A record the archive already holds is superseded by the new line. Writers run one at a time (on
    /// `SnapshotStore`'s writer thread); the lock is taken only around the bookkeeping, never across the files.
    /// - Parameter records: each record (`null`, with final stats) and its full JSON text, which holds no newline.
    /// - Throws: `StoreError.io`; the records not yet on disk are then not in the archive.
    func append(records: [(record: JobRecord, text: Data)]) throws {
        guard !records.isEmpty else { return }
        for (record, text) in records where text.contains(UInt8(ascii: "\n")) {
            throw StoreError.io(step: "archive \(record.id)", reason: "the record text holds a newline")
        }
        ensureLoaded()
        var remaining = records[...]
        while !remaining.isEmpty {
            let (segment, room) = state.withLock { state -> (Int, Int) in
                let segment = state.next - 1
                if let lines = state.lines[segment], lines < segmentCapacity {
                    return (segment, segmentCapacity - lines)
                }
                state.next += 1
                state.lines[state.next - 1] = 0
                return (state.next - 1, segmentCapacity)
            }
            let chunk = remaining.prefix(room)
            remaining = remaining.dropFirst(chunk.count)
            try appendChunk(chunk, to: segment)
        }
    }

    private func appendChunk(_ chunk: ArraySlice<(record: JobRecord, text: Data)>, to segment: Int) throws {
        let dataPath = path(segment, "data")
        let indexPath = path(segment, "index")
        let creating = access(indexPath, F_OK) != 0
        var offset = try Self.size(of: dataPath)
        var data = Data()
        var index = Data()
        for (record, text) in chunk {
            data.append(text)
            data.append(UInt8(ascii: "\n"))
            index.append(
                record.archiveIndexLine(offset: offset, length: text.count, version: SnapshotStore.schemaVersion))
            offset += text.count + 1
        }
        try Self.appendDurably(data, to: dataPath)
        try Self.appendDurably(index, to: indexPath)
        if creating { try AtomicFile.syncDirectory(directory) }
        state.withLock { state in
            for (record, _) in chunk {
                let key = record.runKey
                if let previous = state.owner[key] { state.live[previous, default: 1] -= 1 }
                state.owner[key] = segment
                state.live[segment, default: 0] += 1
            }
            state.lines[segment, default: 0] += chunk.count
        }
    }

    /// Removes records (`id~run`; keys the archive does not hold are ignored). A segment left without records is
    /// deleted; any other affected segment has its survivors written into a new segment, then is deleted. Writers
    /// run one at a time, as for `append(records:)`.
    /// - Throws: `StoreError.io`; segments not yet rewritten keep their records.
    func remove(keys: Set<String>) throws {
        ensureLoaded()
        let bySegment = state.withLock { state -> [Int: Set<String>] in
            var bySegment: [Int: Set<String>] = [:]
            for key in keys {
                if let segment = state.owner[key] { bySegment[segment, default: []].insert(key) }
            }
            return bySegment
        }
        for (segment, removed) in bySegment.sorted(by: { $0.key < $1.key }) {
            if state.withLock({ $0.live[segment, default: 0] }) > removed.count {
                try rewrite(segment, without: removed)
            }
            state.withLock { state in
                for key in removed where state.owner[key] == segment { state.owner[key] = nil }
                state.live[segment] = nil
                state.lines[segment] = nil
            }
            deleteSegment(segment)
        }
    }

    /// Writes the records `segment` still owns, except `removed`, into a new segment (whole files, atomically).
    private func rewrite(_ segment: Int, without removed: Set<String>) throws {
        let bytes = try MappedFile.read(path(segment, "index")) ?? []
        let data = try MappedFile.map(path: path(segment, "data"))
        let entries = JobRecord.archiveIndex(bytes, version: SnapshotStore.schemaVersion).entries.reversed()
        let (owned, target) = state.withLock { state in
            defer { state.next += 1 }
            return (Set(entries.map(\.record.runKey).filter { state.owner[$0] == segment }), state.next)
        }
        var seen = Set<String>()
        var survivors: [(record: JobRecord, text: Data)] = []
        for entry in entries {
            let key = entry.record.runKey
            guard owned.contains(key), !removed.contains(key), seen.insert(key).inserted,
                entry.offset + entry.length <= data.count
            else { continue }
            let start = data.startIndex + entry.offset
            survivors.append((entry.record, data[start..<(start + entry.length)]))
        }
        var newData = Data()
        var newIndex = Data()
        for (record, text) in survivors.reversed() {
            newIndex.append(
                record.archiveIndexLine(offset: newData.count, length: text.count, version: SnapshotStore.schemaVersion)
            )
            newData.append(text)
            newData.append(UInt8(ascii: "\n"))
        }
        try AtomicFile.write(newData, to: path(target, "data"))
        try AtomicFile.write(newIndex, to: path(target, "index"))
        state.withLock { state in
            state.lines[target] = survivors.count
            state.live[target] = survivors.count
            for (record, _) in survivors { state.owner[record.runKey] = target }
        }
    }

    private static func size(of path: String) throws -> Int {
        var status = stat()
        if stat(path, &status) == 0 { return Int(status.st_size) }
        guard errno == ENOENT else { throw StoreError.io(step: "stat \(path)", reason: AtomicFile.lastError()) }
        return 0
    }

    private static func appendDurably(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, DataDirectory.fileMode)
        guard descriptor >= 0 else { throw StoreError.io(step: "open \(path)", reason: AtomicFile.lastError()) }
        defer { close(descriptor) }
        fchmod(descriptor, DataDirectory.fileMode)  // a segment an earlier jobgate wrote 0644
        guard AtomicFile.writeAll(data, to: descriptor), fsync(descriptor) == 0 else {
            throw StoreError.io(step: "append to \(path)", reason: AtomicFile.lastError())
        }
    }
}
