import Foundation
import JSON

/// A job's statistics: how long it ran, how much it moved, how fast, and how it ended.
///
/// Derived from the record (status history and progress) while the job lives, and frozen into the record when it
/// ends, so a restarted jobgate reports exactly the same final figures.
public struct JobStats: Sendable, Equatable {
    public init(
        durationSeconds: Double, bytesDone: Int64?, averageRate: Double?, recentRate: Double?, etaSeconds: Double?,
        etaIsEstimate: Bool?, outcome: Outcome?, error: String?
    ) {
        self.durationSeconds = durationSeconds
        self.bytesDone = bytesDone
        self.averageRate = averageRate
        self.recentRate = recentRate
        self.etaSeconds = etaSeconds
        self.etaIsEstimate = etaIsEstimate
        self.outcome = outcome
        self.error = error
    }

    /// How a job ended.
    public enum Outcome: String, Sendable {
        case completed, cancelled, failed
        /// The job left the engine while jobgate was not watching; jobgate does not guess.
        case unknown
        /// QEMU created the job inside a command it then refused, and rolled it back (`JobRecord.refused`).
        case refused
    }

    /// Seconds from the first `running` (or creation) to the end, or to now while the job lives.
    public var durationSeconds: Double
    /// Bytes processed (`current-progress`; QEMU counts bytes for block jobs); nil for other job types.
    public var bytesDone: Int64?
    /// Bytes per second over the whole duration; nil for non-block jobs or before any time passed.
    public var averageRate: Double?
    /// Bytes per second over the last few seconds of samples; nil when there are too few samples.
    public var recentRate: Double?
    /// Seconds left at the recent rate, while running; an estimate, nil when not meaningful.
    public var etaSeconds: Double?
    /// Always true when `etaSeconds` is present: it is an extrapolation, not a promise.
    public var etaIsEstimate: Bool?
    /// Set when the job has ended.
    public var outcome: Outcome?
    /// QEMU's error text for failed and cancelled jobs.
    public var error: String?
}

extension JobStats {
    /// The JSON form, as records carry it under `stats`.
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "duration-seconds": .double(durationSeconds), "bytes-done": bytesDone.map { .int($0) } ?? .null,
            "average-rate": averageRate.map { .double($0) } ?? .null,
            "recent-rate": recentRate.map { .double($0) } ?? .null,
            "eta-seconds": etaSeconds.map { .double($0) } ?? .null,
            "outcome": outcome.map { .string($0.rawValue) } ?? .null,
        ]
        if let etaIsEstimate { members["eta-is-estimate"] = .bool(etaIsEstimate) }
        if let error { members["error"] = .string(error) }
        return .object(members)
    }
}

/// One progress observation.
public struct ProgressSample: Sendable, Equatable {
    public var at: Date
    public var bytes: Int64
}

extension JobRecord {
    /// The statistics now: the frozen ones once the job ended, else derived at `now`.
    public func stats(now: Date) -> JobStats {
        finalStats ?? computeStats(at: now, ended: false)
    }

    /// Freezes the statistics at `time` (the job ended).
    mutating func freezeStats(at time: Date) {
        finalStats = computeStats(at: time, ended: true)
    }

    private func computeStats(at time: Date, ended: Bool) -> JobStats {
        let start = statusHistory.first { $0.status == .running }?.at ?? createdAt
        let duration = max(0, time.timeIntervalSince(start))
        let isBlock = type?.isBlockJob ?? true
        let bytes = isBlock ? currentProgress : nil
        let average = bytes.flatMap { duration > 0 ? Double($0) / duration : nil }
        var recent: Double?
        if let first = progressSamples.first, let last = progressSamples.last, last.at > first.at, isBlock {
            recent = Double(last.bytes - first.bytes) / last.at.timeIntervalSince(first.at)
        }
        var eta: Double?
        if !ended, status == .running, let rate = recent, rate > 0, totalProgress > currentProgress {
            eta = Double(totalProgress - currentProgress) / rate
        }
        return JobStats(
            durationSeconds: duration, bytesDone: bytes, averageRate: average, recentRate: ended ? nil : recent,
            etaSeconds: eta, etaIsEstimate: eta == nil ? nil : true, outcome: ended ? outcome : nil,
            error: ended ? error : nil)
    }

    /// How the job ended, from its error (QEMU's `Operation canceled` for cancelled jobs).
    public var outcome: JobStats.Outcome {
        if refused { return .refused }
        return switch error {
        case nil: .completed
        case "Operation canceled": .cancelled
        case let text? where text.hasPrefix("outcome unknown"): .unknown
        default: .failed
        }
    }
}
