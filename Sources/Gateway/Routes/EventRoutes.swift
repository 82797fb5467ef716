import Foundation
import JobModel
import Jobs

/// `GET /events` and `GET /jobs/{id}/events`: the job events as server-sent events. Immediate: subscribing only
/// takes the hub's lock; the stream itself is served by the connection as events come (`EventSubscription`).
public struct EventRoutes: Sendable {
    let manager: JobManager

    public init(manager: JobManager) {
        self.manager = manager
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/events") { [manager] request in
            try Self.stream(request, job: nil, manager: manager)
        }
        router.immediate("GET", "/jobs/:id/events") { [manager] request in
            let id = request.parameters["id"]!
            guard manager.book.isRestored else { throw JobError.starting }
            // 204 tells an EventSource to stop reconnecting: there is no such job (any more).
            guard !manager.book.runs(of: id).isEmpty else { return Response(status: 204) }
            return try Self.stream(request, job: id, manager: manager)
        }
    }

    static func stream(_ request: Request, job: String?, manager: JobManager) throws -> Response {
        guard manager.book.isRestored else { throw JobError.starting }
        let query = try EventStreamQuery(query: request.query, headers: request.headers, job: job)
        let subscription: EventSubscription
        do {
            subscription = try manager.events.subscribe(
                filter: query.filter, after: query.cursor, current: manager.book.currentEventID, endsWithJob: job)
        } catch {
            throw Problem.shuttingDown()
        }
        var response = Response(
            status: 200,
            headers: [
                ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
            ])
        response.stream = subscription
        return response
    }
}
