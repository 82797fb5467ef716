/// Time as jobgate's timers see it: what time it is, and sleeping until a moment. Timeouts, heartbeats, backoff
/// and polling take one (`SystemClock` unless a test gives its own, which it advances by hand), so their logic can
/// be tested without waiting.
public protocol TimerClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns at `deadline` or later; throws `CancellationError` if the task is cancelled first.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

extension TimerClock {
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now + duration)
    }
}

/// The clock of the machine: `ContinuousClock` (monotonic, counting while the machine sleeps).
public struct SystemClock: TimerClock {
    public init() {}

    public var now: ContinuousClock.Instant { ContinuousClock.now }

    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: deadline, clock: .continuous)
    }
}
