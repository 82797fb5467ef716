import Foundation

/// RFC 3339 timestamps with microseconds (QEMU's own resolution), as jobgate writes them in records and events.
///
/// `format` and `parse` round-trip exactly at microsecond resolution, so a record read back from disk encodes to
/// the same text it was written as.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle()

    /// `2026-11-21T18:30:00.123456Z`.
    public static func format(_ date: Date) -> String {
        let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = (microseconds / 1_000_000).rounded(.down)
        let fraction = Int(microseconds - seconds * 1_000_000)
        let base = Date(timeIntervalSince1970: seconds).formatted(style)
        let digits = String(fraction)
        return base.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// Parses what `format` writes (and RFC 3339 UTC times with 0 to 9 fractional digits).
    public static func parse(_ text: String) -> Date? {
        guard text.hasSuffix("Z") else { return nil }
        let body = text.dropLast()
        let (whole, fraction): (Substring, Substring) =
            if let dot = body.firstIndex(of: ".") { (body[..<dot], body[body.index(after: dot)...]) } else {
                (body, "")
            }
        guard fraction.allSatisfy(\.isNumber), fraction.count <= 9,
            let seconds = try? style.parse(String(whole) + "Z")
        else { return nil }
        let micro = fraction.isEmpty ? 0 : (Double("0." + fraction) ?? 0) * 1_000_000
        return Date(timeIntervalSince1970: (seconds.timeIntervalSince1970 * 1_000_000 + micro.rounded()) / 1_000_000)
    }

    /// The time of a QMP event's `timestamp {seconds, microseconds}` member.
    public static func fromQMP(seconds: Int64, microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: (Double(seconds) * 1_000_000 + Double(microseconds)) / 1_000_000)
    }
}
