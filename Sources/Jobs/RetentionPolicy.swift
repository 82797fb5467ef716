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

    /// The records to drop from `finished` (sorted oldest end first) at `now`.
    public func expired(_ finished: [JobRecord], now: Date) -> [JobRecord] {
        var drop: [JobRecord] = []
        var keep: [JobRecord] = []
        for record in finished {
            if let maxAge, now.timeIntervalSince(record.updatedAt) > Double(maxAge.components.seconds) {
                drop.append(record)
            } else {
                keep.append(record)
            }
        }
        if let maxCount, keep.count > maxCount { drop += keep.prefix(keep.count - maxCount) }
        return drop
    }
}
