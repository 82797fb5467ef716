import JobModel
import Jobs
import QMP

/// `GET /healthz` (the process answers; with the number of open event streams) and `GET /readyz` (the job records
/// are loaded and the engine answers QMP). Both immediate.
public struct HealthRoutes: Sendable {
    let engine: EngineStatus
    let book: JobBook
    let events: EventHub

    public init(engine: EngineStatus, book: JobBook, events: EventHub) {
        self.engine = engine
        self.book = book
        self.events = events
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/healthz") { [events] _ in
            Response.json(["status": "ok", "event-streams": .int(Int64(events.subscriberCount))] as JSONValue)
        }
        router.immediate("GET", "/readyz") { [engine, book] _ in
            guard book.isRestored else { throw JobError.starting }
            let state = engine.snapshot
            guard state.isConnected else {
                throw Problem(
                    "engine-unavailable", title: "QEMU engine unavailable", status: 503,
                    detail: "the QEMU engine is not connected yet" + (state.lastProblem.map { ": \($0)" } ?? ""),
                    headers: ["Retry-After": "2"])
            }
            return Response.json(
                [
                    "status": "ready",
                    "qemu": [
                        "version": .string(state.version?.description ?? ""), "package": .string(state.package ?? ""),
                    ],
                ] as JSONValue)
        }
    }
}
