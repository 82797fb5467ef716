import JobModel
import QMP

/// `GET /healthz` (the process answers) and `GET /readyz` (the engine answers QMP). Both immediate.
public struct HealthRoutes: Sendable {
    let engine: EngineStatus

    public init(engine: EngineStatus) {
        self.engine = engine
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/healthz") { _ in
            Response.json(["status": "ok"] as JSONValue)
        }
        router.immediate("GET", "/readyz") { [engine] _ in
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
