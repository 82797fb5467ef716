import Foundation
import JSON
import JobModel
import Jobs

/// The query of `GET /jobs`: filters, page size, cursor and view, validated.
struct JobListQuery {
    var statuses: Set<JobStatus>?
    var types: Set<JobType>?
    var id: String?
    var limit = 100
    var cursor: JobBook.ListKey?
    var summary = false

    static let maximumLimit = 1000

    /// - Throws: `Problem.invalidQuery` naming the query parameter.
    init(_ query: [String: String]) throws {
        try QueryParameters.requireKnown(query, ["status", "type", "id", "limit", "cursor", "view"])
        if let text = query["status"] {
            statuses = Set(try QueryParameters.list(text, field: "status", parse: JobStatus.init(rawValue:)))
        }
        if let text = query["type"] {
            types = Set(try QueryParameters.list(text, field: "type", parse: JobType.init(rawValue:)))
        }
        id = query["id"]
        if let text = query["limit"] {
            guard let value = Int(text), (1...Self.maximumLimit).contains(value) else {
                throw Problem.invalidQuery("limit", "'limit' must be a number from 1 to \(Self.maximumLimit)")
            }
            limit = value
        }
        if let text = query["cursor"] {
            guard let key = Self.decodeCursor(text) else {
                throw Problem.invalidQuery("cursor", "'cursor' is not a cursor this jobgate handed out")
            }
            cursor = key
        }
        switch query["view"] {
        case nil, "full": summary = false
        case "summary": summary = true
        default: throw Problem.invalidQuery("view", "'view' must be full or summary")
        }
    }

    /// The abbreviated form of a record (`view=summary`).
    static func summary(_ record: JobRecord) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(record.id), "run": .int(Int64(record.run)),
            "type": record.type.map { .string($0.rawValue) } ?? .null, "status": .string(record.status.rawValue),
            "current-progress": .int(record.currentProgress), "total-progress": .int(record.totalProgress),
            "updated-at": .string(Timestamp.format(record.updatedAt)),
        ]
        if let error = record.error { members["error"] = .string(error) }
        return .object(members)
    }

    /// Whether `record` passes the filters.
    func matches(_ record: JobRecord) -> Bool {
        (statuses?.contains(record.status) ?? true) && (types.map { record.type.map($0.contains) ?? false } ?? true)
            && (id.map { $0 == record.id } ?? true)
    }

    /// An opaque cursor: base64url of `<time bits>|<run>|<id>`.
    static func encodeCursor(_ key: JobBook.ListKey) -> String {
        let text = "\(key.createdAt.timeIntervalSinceReferenceDate.bitPattern)|\(key.run)|\(key.id)"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ text: String) -> JobBook.ListKey? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else {
            return nil
        }
        let parts = decoded.split(separator: "|", maxSplits: 2).map(String.init)
        guard parts.count == 3, let bits = UInt64(parts[0]), let run = Int(parts[1]) else { return nil }
        return JobBook.ListKey(
            createdAt: Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits)), id: parts[2], run: run)
    }
}
