import JobModel
import Jobs

/// What a `GET /events` (or `GET /jobs/{id}/events`) request asks for: filters and where to resume, validated.
struct EventStreamQuery {
    var filter = EventFilter()
    /// From `Last-Event-ID` (the header wins: a browser's EventSource sends it on every reconnect, while the URL
    /// keeps the `last-event-id` it was first opened with).
    var cursor: EventID?

    /// - Parameter job: the job of a per-job stream (then `job` is not a query parameter).
    /// - Throws: `Problem.invalidQuery` or `.invalidHeader` naming the parameter or header.
    init(query: [String: String], headers: [String: String], job: String?) throws {
        try QueryParameters.requireKnown(
            query, job == nil ? ["job", "type", "event", "last-event-id"] : ["type", "event", "last-event-id"])
        if let job {
            filter.jobs = [job]
        } else if let text = query["job"] {
            filter.jobs = Set(try QueryParameters.list(text, field: "job") { $0 })
        }
        if let text = query["type"] {
            filter.types = Set(try QueryParameters.list(text, field: "type", parse: JobType.init(rawValue:)))
        }
        if let text = query["event"] {
            filter.events = Set(
                try QueryParameters.list(text, field: "event") { JobEvent.names.contains($0) ? $0 : nil })
        }
        // Both are checked; the header wins.
        if let text = query["last-event-id"] {
            cursor = try Self.eventID(text, field: "last-event-id", problem: Problem.invalidQuery)
        }
        if let text = headers["last-event-id"] {
            cursor = try Self.eventID(text, field: "Last-Event-ID", problem: Problem.invalidHeader)
        }
    }

    private static func eventID(_ text: String, field: String, problem: (String, String) -> Problem) throws -> EventID {
        guard let id = EventID(text.trimmingCharacters(in: .whitespaces)) else {
            throw problem(field, "'\(field)' must be an event id of the form <epoch>-<sequence>, e.g. 3-120")
        }
        return id
    }
}
