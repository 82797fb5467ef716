extension Duration {
    /// The duration in (fractional) seconds, for Dispatch deadlines, `Date` arithmetic and messages.
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
