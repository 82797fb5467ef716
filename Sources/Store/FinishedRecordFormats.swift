import Foundation
import JSON
import JobModel

/// The store's two layouts of finished records on disk, read without decoding the record's body: a snapshot file
/// (`SnapshotStore`) and a line of an archive index (`FinishedArchive`). Both yield a partial record
/// (`JobRecord.partialRecord`) and where its exact JSON text is.
extension JobRecord {
    /// Reads a finished record from a snapshot file (`{"record": {...}, "version": N}`) without decoding its
    /// body: only what listing, filters and retention need, plus the record's exact JSON text to serve as is.
    ///
    /// Finished records cannot change any more, and there may be a great many of them: start-up reads them this
    /// way (about 3 times faster than a full decode, which hashes every member). Returns nil for anything else (a
    /// live record, another version, an unexpected layout); the caller then decodes the file fully.
    static func partial(fromSnapshot data: Data, version expected: Int) -> (record: JobRecord, text: Data)? {
        var parser = JSONParser([UInt8](data))
        guard let entry = try? parser.partialEntry(), entry.version == Int64(expected), let record = entry.record,
            let range = entry.recordRange
        else { return nil }
        let text = data.subdata(in: (data.startIndex + range.lowerBound)..<(data.startIndex + range.upperBound))
        return (record, text)
    }

    /// One line of a finished-record archive index: a JSON array, by position `[version, offset, length, id, run,
    /// type, created-at, updated-at, current-progress, total-progress, error, duration-seconds, bytes-done,
    /// average-rate, outcome, stats error]`, where the record's full JSON text is `length` bytes at `offset` of
    /// the archive's data file. Positions rather than names: start-up reads one line per finished record, and
    /// matching member names was most of its cost. The version comes first, so a later layout is recognised.
    struct ArchiveIndexEntry: Sendable {
        var record: JobRecord
        var offset: Int
        var length: Int
        /// The bytes of the index line itself.
        var line: Range<Int>
    }

    /// Reads archive index lines (see `ArchiveIndexEntry`) from `bytes`, one JSON array per line.
    /// - Returns: the entries in order; the byte ranges of lines that are not valid entries of schema version
    ///   `expected` (each with the reason); and how many bytes end with a complete line (a shorter count means a
    ///   torn last line, which is not among the bad lines).
    static func archiveIndex(_ bytes: [UInt8], version expected: Int) -> (
        entries: [ArchiveIndexEntry], bad: [(lines: Range<Int>, reason: String)], complete: Int
    ) {
        var entries: [ArchiveIndexEntry] = []
        var bad: [(lines: Range<Int>, reason: String)] = []
        var parser = JSONParser(bytes)
        var start = 0
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            parser.index = start
            do {
                let value = try parser.parseValue()
                parser.skipWhitespace()
                guard parser.index == newline + 1 else {
                    throw JSONParser.Failure(reason: "text after the entry", offset: parser.index)
                }
                guard let fields = value.arrayValue, fields.first?.intValue == Int64(expected) else {
                    throw JSONParser.Failure(reason: "not an index entry of schema version \(expected)", offset: start)
                }
                guard fields.count == 16, let record = Self.archived(fields), let offset = fields[1].intValue,
                    let length = fields[2].intValue, offset >= 0, length > 0
                else { throw JSONParser.Failure(reason: "not a finished record with its location", offset: start) }
                entries.append(
                    ArchiveIndexEntry(
                        record: record, offset: Int(offset), length: Int(length), line: start..<(newline + 1)))
            } catch {
                bad.append((start..<(newline + 1), "\(error)"))
            }
            start = newline + 1
        }
        return (entries, bad, start)
    }

    /// The partial record of an index entry's fields (see `ArchiveIndexEntry`), or nil if they do not fit.
    private static func archived(_ fields: [JSONValue]) -> JobRecord? {
        guard let id = fields[3].stringValue, let run = fields[4].intValue,
            let createdAt = fields[6].stringValue.flatMap(Timestamp.parse),
            let updatedAt = fields[7].stringValue.flatMap(Timestamp.parse), let current = fields[8].intValue,
            let total = fields[9].intValue, let duration = fields[11].doubleValue
        else { return nil }
        var type: JobType?
        if fields[5] != .null {
            guard let known = fields[5].stringValue.flatMap(JobType.init(rawValue:)) else { return nil }
            type = known
        }
        return partialRecord(
            id: id, run: run, type: type, createdAt: createdAt, updatedAt: updatedAt, current: current, total: total,
            error: fields[10].stringValue,
            stats: JobStats(
                durationSeconds: duration, bytesDone: fields[12].intValue, averageRate: fields[13].doubleValue,
                recentRate: nil, etaSeconds: nil, etaIsEstimate: nil,
                outcome: fields[14].stringValue.flatMap(JobStats.Outcome.init(rawValue:)), error: fields[15].stringValue
            ))
    }

    /// The archive index line of this finished record (see `ArchiveIndexEntry`), newline included.
    func archiveIndexLine(offset: Int, length: Int, version: Int) -> Data {
        let stats = finalStats
        let fields: [JSONValue] = [
            .int(Int64(version)), .int(Int64(offset)), .int(Int64(length)), .string(id), .int(Int64(run)),
            type.map { .string($0.rawValue) } ?? .null, .string(Timestamp.format(createdAt)),
            .string(Timestamp.format(updatedAt)), .int(currentProgress), .int(totalProgress),
            error.map(JSONValue.string) ?? .null, .double(stats?.durationSeconds ?? 0),
            stats?.bytesDone.map(JSONValue.int) ?? .null, stats?.averageRate.map(JSONValue.double) ?? .null,
            stats?.outcome.map { .string($0.rawValue) } ?? .null, stats?.error.map(JSONValue.string) ?? .null,
        ]
        var line = JSONValue.array(fields).serialized()
        line.append(UInt8(ascii: "\n"))
        return line
    }
}

extension JSONParser {
    /// What `partialEntry` found at the top level of a snapshot file.
    struct PartialEntry {
        var version: Int64?
        var record: JobRecord?
        var recordRange: Range<Int>?
    }

    /// Reads the object at the current position: `version` and the listing fields of
    /// `record` if it is a finished one (`record` stays nil otherwise); other members are skipped.
    mutating func partialEntry() throws(Failure) -> PartialEntry {
        var entry = PartialEntry()
        try forEachMember { key, parser throws(Failure) in
            switch key {
            case "version": entry.version = try parser.parseValue().intValue
            case "record":
                let start = parser.index
                entry.record = try parser.partialRecord()
                entry.recordRange = start..<parser.index
            default: return false
            }
            return true
        }
        return entry
    }

    /// Reads the listing fields of the record object at the current position; nil unless it is a finished
    /// (`null`) record with final stats.
    private mutating func partialRecord() throws(Failure) -> JobRecord? {
        var id: String?
        var run: Int64?
        var type: JSONValue?
        var status: String?
        var created: String?
        var updated: String?
        var current: Int64?
        var total: Int64?
        var error: String?
        var hasStats = false
        var duration: Double?
        var bytesDone: Int64?
        var averageRate: Double?
        var outcome: String?
        var statsError: String?
        try forEachMember { field, parser throws(Failure) in
            switch field {
            case "id": id = try parser.parseValue().stringValue
            case "run": run = try parser.parseValue().intValue
            case "type": type = try parser.parseValue()
            case "status": status = try parser.parseValue().stringValue
            case "created-at": created = try parser.parseValue().stringValue
            case "updated-at": updated = try parser.parseValue().stringValue
            case "current-progress": current = try parser.parseValue().intValue
            case "total-progress": total = try parser.parseValue().intValue
            case "error": error = try parser.parseValue().stringValue
            case "stats":
                // Member by member: building the object would hash every key.
                hasStats = true
                try parser.forEachMember { member, parser throws(Failure) in
                    switch member {
                    case "duration-seconds": duration = try parser.parseValue().doubleValue
                    case "bytes-done": bytesDone = try parser.parseValue().intValue
                    case "average-rate": averageRate = try parser.parseValue().doubleValue
                    case "outcome": outcome = try parser.parseValue().stringValue
                    case "error": statsError = try parser.parseValue().stringValue
                    default: return false
                    }
                    return true
                }
            default: return false
            }
            return true
        }
        guard status == "null", let id, let run, let current, let total,
            let createdAt = created.flatMap(Timestamp.parse), let updatedAt = updated.flatMap(Timestamp.parse),
            hasStats, let duration
        else { return nil }
        var jobType: JobType?
        if let type, type != .null {
            guard let known = type.stringValue.flatMap(JobType.init(rawValue:)) else { return nil }
            jobType = known
        }
        return JobRecord.partialRecord(
            id: id, run: run, type: jobType, createdAt: createdAt, updatedAt: updatedAt, current: current,
            total: total, error: error,
            stats: JobStats(
                durationSeconds: duration, bytesDone: bytesDone, averageRate: averageRate, recentRate: nil,
                etaSeconds: nil, etaIsEstimate: nil, outcome: outcome.flatMap(JobStats.Outcome.init(rawValue:)),
                error: statsError))
    }
}
