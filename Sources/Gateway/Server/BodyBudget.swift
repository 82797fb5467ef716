import Synchronization

/// The bytes of request bodies buffered across all connections, against one budget (`--body-budget`).
///
/// Each connection may buffer up to `--body-limit`, and there may be `--max-connections` of them: without a budget
/// the product (4 GiB with the defaults) is what clients that send large bodies slowly could make jobgate hold.
/// A body that would pass the budget is dropped as it arrives and its request answered 503 `server-busy`. Safe from
/// any thread; `reserve` and `release` never block.
final class BodyBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `count` bytes from the budget, if they fit.
    func reserve(_ count: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while current + count <= limit {
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives `count` bytes back.
    func release(_ count: Int) {
        guard count > 0 else { return }
        used.subtract(count, ordering: .relaxed)
    }
}
