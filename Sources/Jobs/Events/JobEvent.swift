import Foundation
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
    /// QEMU's `data` with `timestamp` (RFC 3339) added; for `JOB_PROGRESS`, jobgate's.
    public let data: JSONValue
    /// The event as it goes on the wire: `id:`, `event:` and `data:` lines and the blank line that ends it.
    public let frame: Data

    /// - Parameter data: QEMU's event data (an object); `timestamp` is added to it.
    public init(id: EventID, name: String, job: String, jobType: JobType?, data: JSONValue, at timestamp: Date) {
        var members = data.objectValue ?? [:]
        members["timestamp"] = .string(Timestamp.format(timestamp))
        self.init(id: id, name: name, job: job, jobType: jobType, data: .object(members))
    }

    private init(id: EventID, name: String, job: String, jobType: JobType?, data: JSONValue) {
        self.id = id
        self.name = name
        self.job = job
        self.jobType = jobType
        self.data = data
        self.frame = Self.frame(id: id, name: name, data: data)
    }

    /// The wire form of one event: `id:`, `event:` and `data:` lines and the blank line that ends it.
    static func frame(id: EventID, name: String, data: JSONValue) -> Data {
        var frame = Data("id: \(id)\nevent: \(name)\ndata: ".utf8)
        frame.append(data.serialized())
        frame.append(contentsOf: Array("\n\n".utf8))
        return frame
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
