/// The position of an event in jobgate's stream: `<epoch>-<sequence>`.
///
/// The epoch grows with every start of jobgate (kept in `<data>/epoch`); the sequence counts the events of one
/// start from 1. Ids order by epoch, then sequence, so a cursor from an earlier start sorts before every event of
/// a later one. `<epoch>-0` is the position before the first event of that start.
public struct EventID: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var epoch: UInt64
    public var sequence: UInt64

    public init(epoch: UInt64, sequence: UInt64) {
        self.epoch = epoch
        self.sequence = sequence
    }

    /// Parses `<epoch>-<sequence>` (decimal digits only); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let epoch = UInt64(parts[0]), let sequence = UInt64(parts[1])
        else { return nil }
        self.init(epoch: epoch, sequence: sequence)
    }

    public var description: String { "\(epoch)-\(sequence)" }

    /// The id that directly follows this one within the same start.
    public var next: EventID { EventID(epoch: epoch, sequence: sequence + 1) }

    public static func < (lhs: EventID, rhs: EventID) -> Bool {
        (lhs.epoch, lhs.sequence) < (rhs.epoch, rhs.sequence)
    }
}
