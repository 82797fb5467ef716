import JobModel
import Metrics

/// Requests by route pattern, method and status, with their latency, through swift-metrics (exported at
/// `GET /metrics`). Route patterns (`/jobs/:id/:verb`), never paths, so a client cannot grow the series.
enum RequestMetrics {
    /// One answered request; `duration` from routing to the response (an event stream: until it is set up).
    /// Called on the libmicrohttpd thread (immediate routes) or the handler's task (deferred ones).
    static func answered(_ request: Request, _ response: Response, after duration: Duration) {
        let route = request.route ?? (request.method == "OPTIONS" ? "preflight" : "unmatched")
        let method = knownMethods.contains(request.method) ? request.method : "other"
        Counter(
            label: "jobgate_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", String(response.status))]
        ).increment()
        Timer(label: "jobgate_http_request_duration_seconds", dimensions: [("route", route), ("method", method)])
            .recordNanoseconds(duration.totalNanoseconds)
    }

    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
}
