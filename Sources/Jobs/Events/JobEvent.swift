import Foundation
import JSON
import JobModel

/// One event of the stream `GET /events` serves and the journal keeps: one of QEMU's job events with QEMU's data
/// plus a `timestamp`, or jobgate's own `JOB_PROGRESS`.
public struct JobEvent: Sendable {
    /// The names a stream can carry (and a filter can name).
    public static let names: Set<String> = [
        "JOB_STATUS_CHANGE", "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_ERROR",
        "BLOCK_JOB_PENDING", "JOB_PROGRESS",
    ]

    public let id: EventID
    public let name: String
    /// The job it is about, and that job's type (what the `job` and `type` filters look at).
    public let job: String
    public let jobType: JobType?
    /// QEMU's `data` with `timestamp` (RFC 3339) added; for `JOB_PROGRESS` and `resync`, jobgate's.
    public let data: JSONValue
    /// When it happened (QEMU's timestamp, or jobgate's sampling), for an event made live; nil for one read back
    /// from the journal. What `jobgate_event_publish_lag_seconds` measures from.
    public let at: Date?

    /// - Parameter data: QEMU's event data (an object); `timestamp` is added to it.
    public init(id: EventID, name: String, job: String, jobType: JobType?, data: JSONValue, at timestamp: Date) {
        var members = data.objectValue ?? [:]
        members["timestamp"] = .string(Timestamp.format(timestamp))
        self.init(id: id, name: name, job: job, jobType: jobType, data: .object(members), happenedAt: timestamp)
    }

    private init(
        id: EventID, name: String, job: String, jobType: JobType?, data: JSONValue, happenedAt: Date? = nil
    ) {
        self.at = happenedAt
        self.id = id
        self.name = name
        self.job = job
        self.jobType = jobType
        self.data = data
    }

    /// The event that tells a client to re-list (`GET /jobs`): what it missed is not available. Its id is where
    /// the stream continues, so a reconnect does not ask for the lost events again. It is about no job, and is
    /// neither kept in the log nor journalled.
    static func resync(reason: String, resumeAt id: EventID) -> JobEvent {
        let detail =
            switch reason {
            case "queue-overflow": "this stream fell too far behind and is closed; list the jobs again, then reconnect"
            case "unknown-cursor": "Last-Event-ID is not an event of this jobgate; list the jobs again"
            default: "the events after Last-Event-ID are no longer kept; list the jobs again"
            }
        let data: JSONValue = [
            "reason": .string(reason), "detail": .string(detail), "event-cursor": .string(id.description),
        ]
        return JobEvent(id: id, name: "resync", job: "", jobType: nil, data: data)
    }

    /// The line the journal keeps for it.
    public var journalEntry: JSONValue {
        [
            "id": .string(id.description), "event": .string(name), "job": .string(job),
            "job-type": jobType.map { .string($0.rawValue) } ?? .null, "data": data,
        ]
    }

    /// An event read back from the journal; nil for a line that is not one. Lines of the first journal layout
    /// (status changes only: `job`, `status`, `at`) are read too.
    public init?(journalEntry entry: JSONValue) {
        guard let id = entry["id"]?.stringValue.flatMap(EventID.init), let name = entry["event"]?.stringValue,
            Self.names.contains(name), let job = entry["job"]?.stringValue
        else { return nil }
        let type = entry["job-type"]?.stringValue.flatMap(JobType.init(rawValue:))
        if let data = entry["data"], data.objectValue != nil {
            self.init(id: id, name: name, job: job, jobType: type, data: data)
        } else if name == "JOB_STATUS_CHANGE", let status = entry["status"]?.stringValue {
            var data: [String: JSONValue] = ["id": .string(job), "status": .string(status)]
            if let at = entry["at"]?.stringValue { data["timestamp"] = .string(at) }
            self.init(id: id, name: name, job: job, jobType: type, data: .object(data))
        } else {
            return nil
        }
    }
}
