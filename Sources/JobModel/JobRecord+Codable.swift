import Foundation

/// The record's JSON form, used both over HTTP and in the snapshot files: QAPI's kebab-case names, RFC 3339
/// times with microseconds. `allowed-verbs` and `stats` are derived when encoding; `stats` read back from a
/// snapshot is kept only for a job that had ended (its frozen figures).
extension JobRecord: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, run, type, status
        case currentProgress = "current-progress"
        case totalProgress = "total-progress"
        case error
        case allowedVerbs = "allowed-verbs"
        case speed, busy, paused, ready
        case ioStatus = "io-status"
        case autoFinalize = "auto-finalize"
        case autoDismiss = "auto-dismiss"
        case lastIOError = "last-io-error"
        case request
        case statusHistory = "status-history"
        case createdAt = "created-at"
        case updatedAt = "updated-at"
        case stats
    }

    private struct Entry: Decodable {
        var status: JobStatus
        var at: String
    }

    private struct IOError: Decodable {
        var operation: String
        var action: String
        var at: String
    }

    public func encode(to encoder: any Encoder) throws {
        try json(now: Date()).encode(to: encoder)
    }

    /// The record's JSON form, with `stats` derived at `now` (frozen ones once the job ended).
    public func json(now: Date) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "run": .int(Int64(run)), "type": type.map { .string($0.rawValue) } ?? .null,
            "status": .string(status.rawValue), "current-progress": .int(currentProgress),
            "total-progress": .int(totalProgress), "allowed-verbs": .array(allowedVerbs.map { .string($0.rawValue) }),
            "status-history": .array(
                statusHistory.map { ["status": .string($0.status.rawValue), "at": .string(Timestamp.format($0.at))] }),
            "created-at": .string(Timestamp.format(createdAt)), "updated-at": .string(Timestamp.format(updatedAt)),
            "stats": stats(now: now).json,
        ]
        if let error { members["error"] = .string(error) }
        if let speed { members["speed"] = .int(speed) }
        if let busy { members["busy"] = .bool(busy) }
        if let paused { members["paused"] = .bool(paused) }
        if let ready { members["ready"] = .bool(ready) }
        if let ioStatus { members["io-status"] = .string(ioStatus) }
        if let autoFinalize { members["auto-finalize"] = .bool(autoFinalize) }
        if let autoDismiss { members["auto-dismiss"] = .bool(autoDismiss) }
        if let report = lastIOError {
            members["last-io-error"] = [
                "operation": .string(report.operation), "action": .string(report.action),
                "at": .string(Timestamp.format(report.at)),
            ]
        }
        if let request { members["request"] = request }
        return .object(members)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let id = try container.decode(String.self, forKey: .id)
        let createdAt = try Timestamp.parse(
            container.decode(String.self, forKey: .createdAt), at: .createdAt, in: container)
        self.init(
            id: id, type: try container.decodeIfPresent(JobType.self, forKey: .type),
            status: try container.decode(JobStatus.self, forKey: .status), createdAt: createdAt)
        run = try container.decodeIfPresent(Int.self, forKey: .run) ?? 1
        currentProgress = try container.decode(Int64.self, forKey: .currentProgress)
        totalProgress = try container.decode(Int64.self, forKey: .totalProgress)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        speed = try container.decodeIfPresent(Int64.self, forKey: .speed)
        busy = try container.decodeIfPresent(Bool.self, forKey: .busy)
        paused = try container.decodeIfPresent(Bool.self, forKey: .paused)
        ready = try container.decodeIfPresent(Bool.self, forKey: .ready)
        ioStatus = try container.decodeIfPresent(String.self, forKey: .ioStatus)
        autoFinalize = try container.decodeIfPresent(Bool.self, forKey: .autoFinalize)
        autoDismiss = try container.decodeIfPresent(Bool.self, forKey: .autoDismiss)
        if let report = try container.decodeIfPresent(IOError.self, forKey: .lastIOError) {
            lastIOError = IOErrorReport(
                operation: report.operation, action: report.action,
                at: try Timestamp.parse(report.at, at: .lastIOError, in: container))
        }
        request = try container.decodeIfPresent(JSONValue.self, forKey: .request)
        statusHistory = try container.decode([Entry].self, forKey: .statusHistory).map {
            StatusEntry(status: $0.status, at: try Timestamp.parse($0.at, at: .statusHistory, in: container))
        }
        updatedAt = try Timestamp.parse(
            container.decode(String.self, forKey: .updatedAt), at: .updatedAt, in: container)
        if status == .concluded || status == .null {
            finalStats = try container.decodeIfPresent(JobStats.self, forKey: .stats)
        }
    }
}

extension Timestamp {
    /// Parses a time written by `format`.
    /// - Throws: `DecodingError.dataCorrupted` naming `key`.
    static func parse<K: CodingKey>(_ text: String, at key: K, in container: KeyedDecodingContainer<K>) throws -> Date {
        guard let date = parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "not an RFC 3339 time: \(text)")
        }
        return date
    }
}
