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
        if let text = headers["last-event-id"] ?? query["last-event-id"] {
            let field = headers["last-event-id"] != nil ? "Last-Event-ID" : "last-event-id"
            guard let id = EventID(text.trimmingCharacters(in: .whitespaces)) else {
                let detail = "'\(field)' must be an event id of the form <epoch>-<sequence>, e.g. 3-120"
                throw headers["last-event-id"] != nil
                    ? Problem.invalidHeader(field, detail) : Problem.invalidQuery(field, detail)
            }
            cursor = id
        }
    }
}
