extension Duration {
    /// The whole duration in nanoseconds, saturating at `Int64.max` (what swift-metrics' timers take).
    public var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
