import Jobs
import QMP
import Store

/// Every route jobgate serves, in one table (the OpenAPI test compares it with openapi/openapi.yaml).
public enum GatewayRoutes {
    /// - Parameter secrets: where `secret` objects are added (the QMP client).
    public static func makeRouter(
        engine: EngineStatus, manager: JobManager, catalog: NodeCatalog, secrets: any QMPExecuting,
        ledger: IdempotencyLedger? = nil, tickets: EventTickets = EventTickets()
    ) -> Router {
        var router = Router()
        HealthRoutes(engine: engine, book: manager.book, events: manager.events, storage: manager.storage).register(
            in: &router)
        JobRoutes(manager: manager, ledger: ledger).register(in: &router)
        EventRoutes(manager: manager, tickets: tickets).register(in: &router)
        NodeRoutes(catalog: catalog).register(in: &router)
        SecretRoutes(catalog: SecretCatalog(engine: secrets)).register(in: &router)
        SpecRoutes().register(in: &router)
        return router
    }
}
