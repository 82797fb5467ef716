import JSON
import Jobs

/// `GET /engines` and `GET /engines/{name}`: the QEMU engines jobgate drives (today one, `local`: its own, or the
/// one attached with `--qmp-socket`), with QEMU's version, their state and since when, and their job counts.
/// Immediate: read off the engine's status and the book.
public struct EngineRoutes: Sendable {
    let manager: JobManager

    public init(manager: JobManager) {
        self.manager = manager
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/engines") { [manager] _ in
            Response.json(["engines": [manager.engineReport.json]])
        }
        router.immediate("GET", "/engines/:name") { [manager] request in
            let report = manager.engineReport
            let name = request.parameters["name"] ?? ""
            guard name == report.identity.name else {
                throw Problem.unknownEngine(name, known: [report.identity.name])
            }
            return Response.json(report.json)
        }
    }
}
