import JobModel
import Metrics

/// What the store reports through swift-metrics (exported at `GET /metrics`). Called on the writer thread.
enum StoreMetrics {
    /// One fdatasync of the journal: what every durable status change waits for.
    static func journalSynced(after duration: Duration) {
        Timer(label: "jobgate_journal_fsync_duration_seconds").recordNanoseconds(duration.totalNanoseconds)
    }
}
