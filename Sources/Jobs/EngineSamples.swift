import Foundation
import Synchronization

/// When each live job's figures (progress, speed, busy, io-status) were last read from QEMU, by id; readable from
/// any thread. `JobManager.refreshFromEngine` records each sample (the progress poller takes one about twice a
/// second); `GET /jobs/{id}` answers from the record without asking QEMU again while the last one is fresh, and
/// says when it was taken (`stats.sampled-at`).
public final class EngineSamples: Sendable {
    private let taken = Mutex<[String: Date]>([:])

    public init() {}

    /// Notes that `ids` were read from QEMU at `time`; ids no longer live are dropped.
    func record(_ ids: some Sequence<String>, at time: Date, live: Set<String>) {
        taken.withLock { taken in
            for id in ids { taken[id] = time }
            if taken.count > live.count { taken = taken.filter { live.contains($0.key) } }
        }
    }

    /// When job `id` was last read from QEMU, or nil.
    public func sampledAt(_ id: String) -> Date? {
        taken.withLock { $0[id] }
    }
}
