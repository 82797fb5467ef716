import Foundation

/// RFC 3339 timestamps with microseconds, as jobgate writes them in records and events.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// `2026-11-21T18:30:00.123Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(style)
    }

    /// The time of a QMP event's `timestamp {seconds, microseconds}` member.
    public static func fromQMP(seconds: Int64, microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(microseconds) / 1_000_000)
    }
}
