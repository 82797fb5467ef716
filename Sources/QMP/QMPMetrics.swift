import JobModel
import Metrics

/// What the QMP layer reports through swift-metrics (exported at `GET /metrics` when the executable bootstraps a
/// backend; no-ops otherwise). Safe from any thread.
enum QMPMetrics {
    /// One command's round trip, by command; a timed-out one is counted apart.
    static func commandFinished(_ command: String, after duration: Duration, timedOut: Bool) {
        Timer(label: "jobgate_qmp_command_duration_seconds", dimensions: [("command", command)])
            .recordNanoseconds(duration.totalNanoseconds)
        if timedOut {
            Counter(label: "jobgate_qmp_command_timeouts_total", dimensions: [("command", command)]).increment()
        }
    }

    /// jobgate started a new engine in place of one that died or hung.
    static func engineReplaced() {
        Counter(label: "jobgate_engine_restarts_total").increment()
    }
}
