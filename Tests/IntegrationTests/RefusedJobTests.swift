import Foundation
import JSON
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Jobs QEMU creates and rolls back inside a command it refuses: their events reach the stream in QEMU's
    /// order, their records stay (refused, with QEMU's reason), and a later job of the same id is a new run.
    @Suite struct RefusedJobTests {
        /// The JOB_STATUS_CHANGE statuses of `job` in the text curl wrote of `/events`, in order.
        static func statuses(_ text: String, _ job: String) -> [String] {
            text.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("data: "),
                    let data = try? JSONValue.parse(Data(line.dropFirst(6).utf8)),
                    data["id"]?.stringValue == job, data["device"] == nil
                else { return nil }
                return data["status"]?.stringValue
            }
        }

        @Test(
            "a grouped transaction refused in prepare: the rolled-back job's events and record; a reused id is one new run"
        )
        func groupedRefusedInPrepare() async throws {
            try await rolledBackJobs(
                name: "grouped",
                body:
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"g0","device":"src","target":"dst","sync":"full"}},{"type":"blockdev-backup","data":{"job-id":"g1","device":"src","target":"dst","sync":"incremental","bitmap":"nope"}}],"properties":{"completion-mode":"grouped"}}"#,
                reason: "Bitmap 'nope' could not be found")
        }

        @Test("a transaction with an abort action: the rolled-back job's events and record; a reused id is one new run")
        func abortAction() async throws {
            try await rolledBackJobs(
                name: "abort",
                body:
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"g0","device":"src","target":"dst","sync":"full"}},{"type":"abort","data":{}}]}"#,
                reason: "Transaction aborted using Abort action")
        }

        func rolledBackJobs(name: String, body: String, reason: String) async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "1M")
                // curl follows the stream, as a client of the event stream would.
                let stream = try ChildProcess(
                    try #require(ChildProcess.find("curl"), "curl is not installed (scripts/deps.sh)"),
                    ["-sN", "http://127.0.0.1:\(gate.port)/events"], outputPath: gate.dataDirectory + "/events.txt")
                defer { stream.signal(SIGKILL) }
                let subscribed = await eventually(timeout: .seconds(5)) { stream.output.contains("retry:") }
                #expect(subscribed, "the event stream did not start: \(stream.output)")

                let refused = try await gate.http.post("/transactions", body)
                #expect(refused.status == 422, "\(refused.text)")
                #expect(refused.json?["desc"] == .string(reason), "\(refused.text)")
                // QEMU 7.2's sequence for a job created in prepare and rolled back by the refusal.
                let rolledBack = ["created", "aborting", "concluded", "null"]
                let streamed = await eventually(timeout: .seconds(10)) { Self.statuses(stream.output, "g0").count >= 4 }
                #expect(streamed, "\(name): \(stream.output)")
                #expect(Self.statuses(stream.output, "g0") == rolledBack, "\(name): \(stream.output)")
                #expect(Self.statuses(stream.output, "g1").isEmpty, "QEMU never created g1: \(stream.output)")

                let record = try await gate.waitForJob("g0", status: ["null"])
                #expect(record["refused"] == true, "\(record)")
                #expect(record["error"] == .string(reason))
                #expect(record["stats"]?["outcome"] == "refused")
                #expect(record["request"]?["action"] == "blockdev-backup", "\(record)")
                #expect(Scenario.statuses(record) == rolledBack)
                let listed = try await gate.http.get("/jobs?status=null").json?["jobs"]?.arrayValue ?? []
                #expect(listed.map { $0["id"] } == ["g0"], "\(listed)")

                // The id again: a new run, with one `created` on the stream.
                let before = Self.statuses(stream.output, "g0").count
                try await gate.createJob(#"{"type":"backup","id":"g0","device":"src","target":"dst","sync":"full"}"#)
                let again = try await gate.waitForJob("g0", status: ["null"])
                #expect(again["run"] == 2 && again["refused"] == nil, "\(again)")
                _ = await eventually(timeout: .seconds(10)) {
                    Self.statuses(stream.output, "g0").dropFirst(before).contains("null")
                }
                let newRun = Self.statuses(stream.output, "g0").dropFirst(before)
                #expect(newRun.filter { $0 == "created" }.count == 1, "\(newRun)")
                #expect(newRun.last == "null", "\(newRun)")
                let runs = try await gate.http.get("/jobs/g0/history").json?["runs"]?.arrayValue ?? []
                #expect(runs.count == 2 && runs.first?["refused"] == true, "\(runs)")
            }
        }
    }
}
