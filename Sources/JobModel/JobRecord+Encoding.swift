import Foundation
import JSON

/// The record's JSON form, used both over HTTP and in the snapshot files: QAPI's kebab-case names, RFC 3339
/// times with microseconds. `allowed-verbs` and `stats` are derived when encoding; `stats` read back from a
/// snapshot is kept only for a job that had ended (its frozen figures). Reading is `init(json:)`.
extension JobRecord {
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
        if let createdBy { members["created-by"] = .string(createdBy) }
        if refused { members["refused"] = .bool(true) }
        if !verbHistory.isEmpty {
            members["verb-history"] = .array(
                verbHistory.map {
                    ["verb": .string($0.verb), "by": .string($0.by), "at": .string(Timestamp.format($0.at))]
                })
        }
        return .object(members)
    }
}
