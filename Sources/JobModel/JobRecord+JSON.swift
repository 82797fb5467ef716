import Foundation
import JSON

extension JobRecord {
    /// Why a JSON value is not a job record.
    public struct MalformedRecord: Error, CustomStringConvertible {
        public var field: String
        public var description: String { "record field '\(field)' is missing or malformed" }
    }

    /// Reads the JSON form `json(now:)` writes (JobRecord+Encoding) straight from a `JSONValue`: how snapshot files
    /// and journal entries are loaded.
    /// - Throws: `MalformedRecord` naming the first field that is wrong.
    public init(json: JSONValue) throws {
        func require<T>(_ field: String, _ value: T?) throws -> T {
            guard let value else { throw MalformedRecord(field: field) }
            return value
        }
        func time(_ field: String, _ value: JSONValue?) throws -> Date {
            try require(field, value?.stringValue.flatMap(Timestamp.parse))
        }
        let id = try require("id", json["id"]?.stringValue)
        let status = try require("status", json["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)))
        var type: JobType?
        if let name = json["type"], name != .null {
            type = try require("type", name.stringValue.flatMap(JobType.init(rawValue:)))
        }
        self.init(id: id, type: type, status: status, createdAt: try time("created-at", json["created-at"]))
        run = Int(try require("run", json["run"]?.intValue ?? 1))
        currentProgress = try require("current-progress", json["current-progress"]?.intValue)
        totalProgress = try require("total-progress", json["total-progress"]?.intValue)
        error = json["error"]?.stringValue
        speed = json["speed"]?.intValue
        busy = json["busy"]?.boolValue
        paused = json["paused"]?.boolValue
        ready = json["ready"]?.boolValue
        ioStatus = json["io-status"]?.stringValue
        autoFinalize = json["auto-finalize"]?.boolValue
        autoDismiss = json["auto-dismiss"]?.boolValue
        if let report = json["last-io-error"], report != .null {
            lastIOError = IOErrorReport(
                operation: try require("last-io-error.operation", report["operation"]?.stringValue),
                action: try require("last-io-error.action", report["action"]?.stringValue),
                at: try time("last-io-error.at", report["at"]))
        }
        request = json["request"]
        createdBy = json["created-by"]?.stringValue
        refused = json["refused"]?.boolValue ?? false
        verbHistory = try (json["verb-history"]?.arrayValue ?? []).map { entry in
            VerbEntry(
                verb: try require("verb-history.verb", entry["verb"]?.stringValue),
                by: try require("verb-history.by", entry["by"]?.stringValue),
                at: try time("verb-history.at", entry["at"]))
        }
        statusHistory = try require("status-history", json["status-history"]?.arrayValue).map { entry in
            StatusEntry(
                status: try require("status-history", entry["status"]?.stringValue.flatMap(JobStatus.init(rawValue:))),
                at: try time("status-history", entry["at"]))
        }
        updatedAt = try time("updated-at", json["updated-at"])
        if status == .concluded || status == .null, let stats = json["stats"], stats != .null {
            finalStats = JobStats(
                durationSeconds: try require("stats.duration-seconds", stats["duration-seconds"]?.doubleValue),
                bytesDone: stats["bytes-done"]?.intValue, averageRate: stats["average-rate"]?.doubleValue,
                recentRate: stats["recent-rate"]?.doubleValue, etaSeconds: stats["eta-seconds"]?.doubleValue,
                etaIsEstimate: stats["eta-is-estimate"]?.boolValue,
                outcome: stats["outcome"]?.stringValue.flatMap(JobStats.Outcome.init(rawValue:)),
                error: stats["error"]?.stringValue)
        }
    }
}
