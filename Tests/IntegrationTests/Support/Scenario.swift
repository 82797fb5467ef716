import Foundation
import JSON
import JobModel
import TestSupport
import Testing

/// Helpers for comparing what jobgate saw with QEMU's status sequences (as QEMU's iotests record them).
enum Scenario {
    /// The longest a `paused`/`standby` may last to count as a drain pair: well under the 50 ms a test holds a
    /// pause it asked for (`holdRequestedPause`).
    static let drainPairLimit = 0.025

    /// The statuses a record went through, without QEMU's internal drain pairs: a `paused`/`standby` that
    /// lasted under `drainPairLimit` before `running`/`ready` came back (QEMU pauses a job around each drain, job.c `job_pause_point`; drain pairs last
    /// microseconds, a few milliseconds when the machine is busy, and a
    /// pause a test asks for is held with `holdRequestedPause` before it is lifted).
    static func statuses(_ record: JSONValue) -> [String] {
        withoutDrainPairs(
            record["status-history"]?.arrayValue?.compactMap { entry in
                guard let status = entry["status"]?.stringValue, let at = entry["at"]?.stringValue.flatMap(date)
                else { return nil }
                return (status, at)
            } ?? [])
    }

    /// An RFC 3339 time with fractional seconds, as jobgate writes them.
    static func date(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true))
    }

    /// Statuses in order, without drain pairs (see `statuses(_:)`).
    static func withoutDrainPairs(_ entries: [(status: String, at: Date)]) -> [String] {
        var result: [(status: String, at: Date)] = []
        var index = 0
        while index < entries.count {
            let entry = entries[index]
            if index + 1 < entries.count, ["paused", "standby"].contains(entry.status),
                let previous = result.last?.status, entries[index + 1].status == previous,
                entries[index + 1].at.timeIntervalSince(entry.at) < drainPairLimit
            {
                index += 2
                continue
            }
            result.append(entry)
            index += 1
        }
        return result.map(\.status)
    }

    /// Keeps a requested pause visible in the history for longer than a drain pair ever lasts.
    static func holdRequestedPause() async throws {
        try await Task.sleep(for: .milliseconds(50))
    }

    /// Expects `verb` on job `id` to be refused by the verb table, with QEMU's sentence.
    static func expectVerbRefused(
        _ gate: JobgateInstance, _ id: String, _ verb: String, in status: String, body: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let answer = try await gate.http.post("/jobs/\(id)/\(verb)", body)
        #expect(answer.status == 409, "\(verb) in \(status): \(answer.text)", sourceLocation: sourceLocation)
        #expect(
            answer.json?["detail"]?.stringValue
                == "Job '\(id)' in state '\(status)' cannot accept command verb '\(verb)'",
            sourceLocation: sourceLocation)
    }

    /// Expects QEMU itself to refuse `verb` with `text` (its class kept).
    static func expectEngineRefused(
        _ gate: JobgateInstance, _ id: String, _ verb: String, _ text: String, body: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let answer = try await gate.http.post("/jobs/\(id)/\(verb)", body)
        #expect(answer.status == 409, "\(verb): \(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.json?["desc"]?.stringValue == text, "\(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.json?["class"] == "GenericError", sourceLocation: sourceLocation)
    }
}
