import Foundation
import JobModel
import Jobs
import QMP
import Store

/// `GET /healthz` (the process answers; with the number of open event streams) and `GET /readyz` (the job records
/// are loaded, the data directory takes durable writes, and the engine answers QMP). Both immediate.
public struct HealthRoutes: Sendable {
    let engine: EngineStatus
    let book: JobBook
    let events: EventHub
    let storage: StorageHealth

    public init(engine: EngineStatus, book: JobBook, events: EventHub, storage: StorageHealth) {
        self.engine = engine
        self.book = book
        self.events = events
        self.storage = storage
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/healthz") { [events] _ in
            Response.json(["status": "ok", "event-streams": .int(Int64(events.subscriberCount))] as JSONValue)
        }
        router.immediate("GET", "/readyz") { [engine, book, storage] _ in
            guard book.isRestored else { throw JobError.starting }
            if let failure = storage.failure {
                throw Problem.storageFailing(dataDirectory: storage.dataDirectory, reason: failure.reason)
                    .asNotReady(since: failure.since)
            }
            let state = engine.snapshot
            if state.isConnected, let since = state.unresponsiveSince {
                throw Problem(
                    "engine-unavailable", title: "QEMU engine unavailable", status: 503,
                    detail:
                        "the QEMU engine has not answered QMP since \(Timestamp.format(since)); it is taken for hung, and replaced when jobgate owns it, once silent for --qmp-timeout",
                    extensions: ["since": .string(Timestamp.format(since))], headers: ["Retry-After": "2"])
            }
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
