import Foundation
import JobModel
import Metrics

/// What jobs report through swift-metrics (exported at `GET /metrics`): bytes copied and how long jobs took, as
/// their records change (`observe`, on the manager's thread), and the jobs by status and type with the records
/// kept, read from the book when scraped (`sample`, any thread).
public enum JobMetrics {
    /// A record's change: the bytes it copied since `previous` (same run), and its duration once it concludes.
    static func observe(_ record: JobRecord, previous: JobRecord?) {
        let type = record.type?.rawValue ?? "unknown"
        if let previous, previous.run == record.run, record.currentProgress > previous.currentProgress,
            record.type?.isBlockJob ?? true
        {
            Counter(label: "jobgate_bytes_copied_total", dimensions: [("type", type)])
                .increment(by: record.currentProgress - previous.currentProgress)
        }
        if record.status == .concluded, previous?.status != .concluded, let stats = record.finalStats {
            Timer(
                label: "jobgate_job_duration_seconds",
                dimensions: [("type", type), ("outcome", stats.outcome?.rawValue ?? "unknown")]
            ).recordNanoseconds(Int64(stats.durationSeconds * 1e9))
        }
    }

    /// Sets the gauges read off the book and the hub: jobs by status and type (every status and type known to
    /// QEMU, 0 where none), records kept (all runs), open event streams.
    public static func sample(book: JobBook, events: EventHub) {
        let census = book.census()
        for status in JobStatus.allCases {
            let counts = census[status] ?? [:]
            for type in JobType.allCases {
                Gauge(label: "jobgate_jobs", dimensions: [("status", status.rawValue), ("type", type.rawValue)])
                    .record(counts[type] ?? 0)
            }
            if let unknown = counts[nil] {
                Gauge(label: "jobgate_jobs", dimensions: [("status", status.rawValue), ("type", "unknown")])
                    .record(unknown)
            }
        }
        Gauge(label: "jobgate_records").record(book.count)
        Gauge(label: "jobgate_event_streams_open").record(events.subscriberCount)
    }
}
