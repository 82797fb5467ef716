import Jobs
import QMP

/// Every route jobgate serves, in one table (the OpenAPI test compares it with openapi/openapi.yaml).
public enum GatewayRoutes {
    public static func makeRouter(engine: EngineStatus, manager: JobManager, catalog: NodeCatalog) -> Router {
        var router = Router()
        HealthRoutes(engine: engine).register(in: &router)
        JobRoutes(manager: manager).register(in: &router)
        NodeRoutes(catalog: catalog).register(in: &router)
        return router
    }
}
