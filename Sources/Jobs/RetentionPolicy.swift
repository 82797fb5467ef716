import Foundation
import JobModel

/// How long, and how many, finished job records are kept (`--retain-age`, `--retain-count`).
///
/// A finished record is one whose job QEMU no longer has (status `null`, or an earlier run of a reused id).
/// Records of live jobs, and concluded jobs still waiting for `dismiss`, are never pruned.
public struct RetentionPolicy: Sendable, Equatable {
    /// Records that ended longer ago than this are dropped; nil keeps them regardless of age.
    public var maxAge: Duration?
    /// At most this many finished records are kept (the newest); nil keeps any number.
    public var maxCount: Int?

    /// Defaults: 30 days, 10,000 records.
    public init(maxAge: Duration? = .seconds(30 * 24 * 3600), maxCount: Int? = 10_000) {
        self.maxAge = maxAge
        self.maxCount = maxCount
    }

    /// Whether this policy can drop anything at all.
    public var isUnlimited: Bool { maxAge == nil && maxCount == nil }

    /// Whether `count` records (all runs, live ones included) are so far past `maxCount` that retention should run
    /// now rather than at its next minute: by a tenth of the limit plus 100. Keeps memory bounded under churn.
    public func isOverrun(count: Int) -> Bool {
        guard let maxCount else { return false }
        return count > maxCount + maxCount / 10 + 100
    }

    /// The runs to drop from `finished` (sorted oldest end first) at `now`: those that ended more than `maxAge`
    /// ago, and the oldest beyond `maxCount`. Always a prefix of `finished`.
    public func expired(_ finished: [JobBook.FinishedRun], now: Date) -> [JobBook.FinishedRun] {
        var count = 0
        if let maxAge {
            let cutoff = now.addingTimeInterval(-Double(maxAge.components.seconds))
            count = finished.prefix { $0.endedAt < cutoff }.count
        }
        if let maxCount { count = max(count, finished.count - maxCount) }
        return Array(finished.prefix(count))
    }
}
