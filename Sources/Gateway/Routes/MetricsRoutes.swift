import Foundation
import Jobs

/// `GET /metrics`: Prometheus text exposition of what jobgate records through swift-metrics (requests, jobs,
/// events, QMP, the journal), with the gauges read off the book and the event hub when scraped. Immediate: it
/// reads jobgate's own state only. A token of either role reads it when tokens are on.
public struct MetricsRoutes: Sendable {
    let manager: JobManager
    let exposition: @Sendable () -> [UInt8]

    /// - Parameter exposition: the metrics backend's text (the executable's Prometheus registry); called on a
    ///   libmicrohttpd thread after the gauges are set.
    public init(manager: JobManager, exposition: @escaping @Sendable () -> [UInt8]) {
        self.manager = manager
        self.exposition = exposition
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/metrics") { [manager, exposition] _ in
            JobMetrics.sample(book: manager.book, events: manager.events)
            return Response(
                status: 200,
                headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store")],
                body: Data(exposition()))
        }
    }
}
