import Foundation
import JobModel
import Jobs

/// `GET /events` and `GET /jobs/{id}/events`: the job events as server-sent events. Immediate: subscribing only
/// takes the hub's lock; the stream itself is served by the connection as events come (`EventSubscription`).
public struct EventRoutes: Sendable {
    let manager: JobManager
    let tickets: EventTickets

    public init(manager: JobManager, tickets: EventTickets = EventTickets()) {
        self.manager = manager
        self.tickets = tickets
    }

    public func register(in router: inout Router) {
        // A browser's EventSource cannot send Authorization: it trades its token for a ticket first.
        router.immediate("POST", "/events/tickets") { [tickets] request in
            let principal = request.principal ?? Principal(name: "anonymous", role: .operate)
            return Response.json(
                [
                    "ticket": .string(tickets.issue(for: principal)),
                    "expires-in": .int(Int64(tickets.lifetime.components.seconds)),
                ], status: 201, headers: [("Cache-Control", "no-store")])
        }
        router.immediate("GET", "/events") { [manager] request in
            try Self.stream(request, job: nil, manager: manager)
        }
        router.immediate("GET", "/jobs/:id/events") { [manager] request in
            let id = request.parameters["id"]!
            try manager.book.requireRestored()
            // The request is checked first: a bad one is 400 whether or not the job exists.
            guard QEMUIdentifier.isWellFormed(id) else {
                throw Problem.invalidPath(
                    "'\(id)' cannot be a job id (QEMU's grammar: an ASCII letter, then letters, digits, '-', '.', '_')")
            }
            _ = try EventStreamQuery(query: request.query, headers: request.headers, job: id)
            // 204 tells an EventSource to stop reconnecting: there is no such job (any more).
            guard !manager.book.runs(of: id).isEmpty else { return Response(status: 204) }
            return try Self.stream(request, job: id, manager: manager)
        }
    }

    static func stream(_ request: Request, job: String?, manager: JobManager) throws -> Response {
        try manager.book.requireRestored()
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
