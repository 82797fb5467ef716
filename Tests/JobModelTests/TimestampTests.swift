import Foundation
import JobModel
import Testing

@Suite struct TimestampTests {
    @Test("format and parse round-trip exactly at microseconds")
    func roundTrip() throws {
        for micros in [0, 1, 703_999, 704_000, 999_999] as [Int64] {
            let date = Timestamp.fromQMP(seconds: 1_795_000_000, microseconds: micros)
            let text = Timestamp.format(date)
            let back = try #require(Timestamp.parse(text))
            #expect(Timestamp.format(back) == text)
            #expect(text.hasSuffix(String(format: ".%06dZ", micros)))
        }
        #expect(Timestamp.parse("2026-11-21T18:30:00Z") != nil)
        #expect(Timestamp.parse("2026-11-21T18:30:00.5Z").map(Timestamp.format) == "2026-11-21T18:30:00.500000Z")
        #expect(Timestamp.parse("yesterday") == nil)
        // Agrees with Foundation's formatter across the calendar.
        for seconds in stride(from: 0.25, to: 4_000_000_000.0, by: 86_399.5) {
            let date = Date(timeIntervalSince1970: seconds)
            let ours = Timestamp.format(date)
            let foundation = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            #expect(ours.prefix(19) == foundation.prefix(19), "\(seconds)")
            #expect(Timestamp.parse(ours).map { abs($0.timeIntervalSince(date)) < 0.000_001 } == true)
        }
    }
}
