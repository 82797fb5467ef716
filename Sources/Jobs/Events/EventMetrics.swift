import Foundation
import Metrics

/// What the event hub reports through swift-metrics (exported at `GET /metrics`). Called outside the hub's lock.
enum EventMetrics {
    /// From when each event happened (QEMU's timestamp, jobgate's sampling) until the hub has it for the
    /// subscribers: the engine's delivery, jobgate's journal write and, for status changes, its fdatasync.
    static func published(_ events: [JobEvent], now: Date = Date()) {
        let timer = Timer(label: "jobgate_event_publish_lag_seconds")
        for at in events.compactMap(\.at) {
            timer.recordNanoseconds(Int64(max(0, now.timeIntervalSince(at)) * 1e9))
        }
    }

    /// A subscriber told to list again (`resync`), by reason: `cursor-too-old`, `unknown-cursor`, `queue-overflow`.
    static func resynced(reason: String, count: Int = 1) {
        guard count > 0 else { return }
        Counter(label: "jobgate_event_resyncs_total", dimensions: [("reason", reason)]).increment(by: count)
    }

    /// Subscribers whose stream was ended because they fell more than `--sse-queue` events behind.
    static func dropped(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "jobgate_event_stream_drops_total").increment(by: count)
        resynced(reason: "queue-overflow", count: count)
    }
}
