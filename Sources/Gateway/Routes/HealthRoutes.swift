import Foundation
import JSON
import JobModel
import Jobs

/// `GET /healthz` (the process answers; with the number of open event streams) and `GET /readyz` (the job records
/// are loaded, the data directory takes durable writes, and the engine answers QMP). Both immediate.
public struct HealthRoutes: Sendable {
    let manager: JobManager

    public init(manager: JobManager) {
        self.manager = manager
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/healthz") { [manager] _ in
            Response.json(["status": "ok", "event-streams": .int(Int64(manager.events.subscriberCount))] as JSONValue)
        }
        router.immediate("GET", "/readyz") { [manager] _ in
            switch manager.readiness {
            case .starting:
                throw JobError.starting
            case .storageFailing(let directory, let reason, let since):
                throw Problem.storageFailing(dataDirectory: directory, reason: reason).asNotReady(since: since)
            case .engineUnresponsive(let since):
                throw Problem.engineUnavailable(
                    "the QEMU engine has not answered QMP since \(Timestamp.format(since)); it is taken for hung, and replaced when jobgate owns it, once silent for --qmp-timeout",
                    since: since)
            case .engineNotConnected(let problem):
                throw Problem.engineUnavailable(
                    "the QEMU engine is not connected yet" + (problem.map { ": \($0)" } ?? ""))
            case .ready(let version, let package):
                return Response.json(
                    [
                        "status": "ready",
                        "qemu": ["version": .string(version ?? ""), "package": .string(package ?? "")],
                    ]
                        as JSONValue)
            }
        }
    }
}
