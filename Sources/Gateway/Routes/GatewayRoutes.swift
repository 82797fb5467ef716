import Jobs

/// Every route jobgate serves, in one table (the OpenAPI test compares it with openapi/openapi.yaml).
public enum GatewayRoutes {
    /// - Parameters:
    ///   - secrets: where `secret` objects are added.
    ///   - metrics: the Prometheus text of the metrics backend (`GET /metrics`); empty without one.
    public static func makeRouter(
        manager: JobManager, catalog: NodeCatalog, secrets: SecretCatalog, ledger: (any IdempotencyStoring)? = nil,
        tickets: EventTickets = EventTickets(), metrics: @escaping @Sendable () -> [UInt8] = { [] }
    ) -> Router {
        var router = Router()
        HealthRoutes(manager: manager).register(in: &router)
        JobRoutes(manager: manager, ledger: ledger).register(in: &router)
        EventRoutes(manager: manager, tickets: tickets).register(in: &router)
        NodeRoutes(catalog: catalog).register(in: &router)
        SecretRoutes(catalog: secrets).register(in: &router)
        SpecRoutes().register(in: &router)
        DashboardRoutes().register(in: &router)
        MetricsRoutes(manager: manager, exposition: metrics).register(in: &router)
        EngineRoutes(manager: manager).register(in: &router)
        return router
    }
}
