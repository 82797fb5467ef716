import Metrics
import Prometheus

/// The metrics backend: swift-metrics recorded into one Prometheus registry, which `GET /metrics` exposes.
/// Bootstrapped once, before anything records.
enum MetricsSetup {
    /// Bootstraps swift-metrics and returns the text exposition of the registry (called per scrape).
    static func bootstrap() -> @Sendable () -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Requests, QMP commands, fsyncs and event lag: from a tenth of a millisecond up to QMP's timeout.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        // Jobs run from seconds to hours.
        factory.durationHistogramBuckets["jobgate_job_duration_seconds"] = [
            .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
            .seconds(4 * 3600), .seconds(12 * 3600), .seconds(24 * 3600),
        ]
        MetricsSystem.bootstrap(factory)
        return { registry.emitToBuffer() }
    }
}
