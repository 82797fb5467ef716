import JobModel
import Metrics
import Synchronization

/// Requests by route pattern, method and status, with their latency, through swift-metrics (exported at
/// `GET /metrics`). Route patterns (`/jobs/:id/:verb`), never paths, so a client cannot grow the series.
enum RequestMetrics {
    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// The counter and timer of each (route, method, status) seen: made once, since asking the metrics backend
    /// for them by name and labels costs more than the request they count.
    private static let recorders = Mutex<[Key: (requests: Counter, latency: Timer)]>([:])

    /// One answered request; `duration` from routing to the response (an event stream: until it is set up).
    /// Called on the libmicrohttpd thread (immediate routes) or the handler's task (deferred ones).
    static func answered(_ request: Request, _ response: Response, after duration: Duration) {
        let route = request.route ?? (request.method == "OPTIONS" ? "preflight" : "unmatched")
        let method = knownMethods.contains(request.method) ? request.method : "other"
        let key = Key(route: route, method: method, status: response.status)
        let recorder =
            recorders.withLock { $0[key] }
            ?? {
                let made = (
                    requests: Counter(
                        label: "jobgate_http_requests_total",
                        dimensions: [("route", route), ("method", method), ("status", String(response.status))]),
                    latency: Timer(
                        label: "jobgate_http_request_duration_seconds",
                        dimensions: [("route", route), ("method", method)])
                )
                recorders.withLock { $0[key] = made }
                return made
            }()
        recorder.requests.increment()
        recorder.latency.recordNanoseconds(duration.totalNanoseconds)
    }

    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
}
