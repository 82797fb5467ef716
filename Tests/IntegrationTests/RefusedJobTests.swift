import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Jobs QEMU creates and rolls back inside a command it refuses: their events reach the stream in QEMU's
    /// order, their records stay (refused, with QEMU's reason), and a later job of the same id is a new run.
    @Suite struct RefusedJobTests {
        /// The JOB_STATUS_CHANGE statuses of `job` on `stream`, in order.
        static func statuses(_ stream: SSEClient, _ job: String) -> [String] {
            stream.events.filter { $0.name == "JOB_STATUS_CHANGE" && $0.job == job }
                .compactMap { $0.json?["status"]?.stringValue }
        }

        @Test(
            "grouped, refused in prepare, and with an abort action: every rolled-back job's events and record; a reused id is one new run",
            arguments: [
                (
                    "grouped",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"g0","device":"src","target":"dst","sync":"full"}},{"type":"blockdev-backup","data":{"job-id":"g1","device":"src","target":"dst","sync":"incremental","bitmap":"nope"}}],"properties":{"completion-mode":"grouped"}}"#,
                    "Bitmap 'nope' could not be found"
                ),
                (
                    "abort",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"g0","device":"src","target":"dst","sync":"full"}},{"type":"abort","data":{}}]}"#,
                    "Transaction aborted using Abort action"
                ),
            ])
        func rolledBackJobs(name: String, body: String, reason: String) async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "1M")
                let stream = try SSEClient(port: gate.port, path: "/events")
                defer { stream.close() }
                #expect(await stream.wait(timeout: .seconds(5)) { _ in stream.status == 200 })

                let refused = try await gate.http.post("/transactions", body)
                #expect(refused.status == 422, "\(refused.text)")
                #expect(refused.json?["desc"] == .string(reason), "\(refused.text)")
                // QEMU 7.2's sequence for a job created in prepare and rolled back by the refusal.
                let rolledBack = ["created", "aborting", "concluded", "null"]
                let streamed = await stream.wait(timeout: .seconds(10)) { _ in Self.statuses(stream, "g0").count >= 4 }
                #expect(streamed && Self.statuses(stream, "g0") == rolledBack, "\(name): \(stream.events)")
                #expect(Self.statuses(stream, "g1").isEmpty, "QEMU never created g1: \(stream.events)")

                let record = try await gate.waitForJob("g0", status: ["null"])
                #expect(record["refused"] == true, "\(record)")
                #expect(record["error"] == .string(reason))
                #expect(record["stats"]?["outcome"] == "refused")
                #expect(record["request"]?["action"] == "blockdev-backup", "\(record)")
                #expect(Scenario.statuses(record) == rolledBack)
                let listed = try await gate.http.get("/jobs?status=null").json?["jobs"]?.arrayValue ?? []
                #expect(listed.map { $0["id"] } == ["g0"], "\(listed)")

                // The id again: a new run, with one `created` on the stream.
                let before = stream.events.count
                try await gate.createJob(#"{"type":"backup","id":"g0","device":"src","target":"dst","sync":"full"}"#)
                let again = try await gate.waitForJob("g0", status: ["null"])
                #expect(again["run"] == 2 && again["refused"] == nil, "\(again)")
                _ = await stream.wait(timeout: .seconds(10)) { events in
                    events.dropFirst(before).contains { $0.job == "g0" && $0.json?["status"] == "null" }
                }
                let newRun = stream.events.dropFirst(before).filter { $0.name == "JOB_STATUS_CHANGE" && $0.job == "g0" }
                #expect(newRun.filter { $0.json?["status"] == "created" }.count == 1, "\(newRun)")
                #expect(newRun.last?.json?["status"] == "null")
                let runs = try await gate.http.get("/jobs/g0/history").json?["runs"]?.arrayValue ?? []
                #expect(runs.count == 2 && runs.first?["refused"] == true, "\(runs)")
            }
        }
    }
}
