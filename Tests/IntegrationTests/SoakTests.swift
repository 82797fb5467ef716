import Foundation
import JSON
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// Memory stays flat: thousands of jobs, and event subscribers that come and go, leave jobgate's resident set
    /// within 20% of what it was after a warm-up.
    ///
    /// `SOAK_JOBS` jobs after a warm-up of half as many, at least 2,000 (by default 2,000 and 2,000, under a
    /// minute); retention and the event history are small so that the warm-up fills them, and what is measured is
    /// growth beyond every bound jobgate sets.
    @Suite struct SoakTests {
        static func residentBytes(_ pid: pid_t) -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }

        /// `count` quick backups on `workers` workers (one target node each), each waited for to its end; every
        /// `churn` jobs a worker opens a few event streams, reads from them, and drops them (some mid-stream).
        func run(_ gate: JobgateInstance, prefix: String, count: Int, workers: Int, churn: Int) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var streams: [SSEClient] = []
                        for index in stride(from: worker, to: count, by: workers) {
                            let id = "\(prefix)\(index)"
                            let created = try await gate.http.post(
                                "/jobs",
                                #"{"type":"backup","id":"\#(id)","device":"s","target":"t\#(worker)","sync":"full"}"#)
                            try #require(created.status == 201, "\(id): \(created.status) \(created.text)")
                            let done = try await eventually(timeout: .seconds(30), interval: .milliseconds(5)) {
                                try await gate.http.get("/jobs/\(id)?stats=false").json?["status"] == "null"
                            }
                            try #require(done, "\(id) never ended")
                            if index % churn == worker {
                                for stream in streams { stream.close() }
                                streams = try (0..<3).map { which in
                                    try SSEClient(
                                        port: gate.port,
                                        path: which == 0
                                            ? "/events" : "/events?event=JOB_STATUS_CHANGE&last-event-id=0-0")
                                }
                            }
                        }
                        for stream in streams { stream.close() }
                    }
                }
                try await group.waitForAll()
            }
        }

        @Test("thousands of jobs and subscribers that come and go leave RSS within 20% of the RSS after warm-up")
        func memoryStaysFlat() async throws {
            let jobs = Int(ProcessInfo.processInfo.environment["SOAK_JOBS"] ?? "") ?? 2000
            try await JobgateInstance.with(
                arguments: [
                    "--stop-engine-on-exit", "--retain-count", "300", "--event-history", "3000", "--sse-heartbeat",
                    "0.5",
                ]
            ) { gate in
                let workers = 4
                for name in ["s"] + (0..<workers).map({ "t\($0)" }) {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":4194304}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                // The warm-up fills every bound (records to the retention limit, the event history) and lets the
                // allocator settle: measured over 24,000 jobs, anonymous memory levels off after a few thousand.
                try await run(gate, prefix: "warm", count: max(2000, jobs / 2), workers: workers, churn: 20)
                try await Task.sleep(for: .seconds(2))
                let warm = Self.residentBytes(gate.process.pid)
                try #require(warm > 0, "cannot read jobgate's RSS")
                let start = ContinuousClock.now
                try await run(gate, prefix: "soak", count: jobs, workers: workers, churn: 20)
                try await Task.sleep(for: .seconds(2))
                let end = Self.residentBytes(gate.process.pid)
                var health: JSONValue?
                let closed = try await eventually(timeout: .seconds(10)) {
                    health = try await gate.http.get("/healthz").json
                    return health?["event-streams"] == 0
                }
                print(
                    "soak: \(jobs) jobs in \(ContinuousClock.now - start); RSS after warm-up \(warm >> 20) MiB, at the end \(end >> 20) MiB"
                )
                #expect(closed, "event streams left open: \(health ?? .null)")
                #expect(
                    Double(end) <= Double(warm) * 1.2,
                    "RSS grew from \(warm >> 20) MiB after warm-up to \(end >> 20) MiB after \(jobs) jobs")
                let listed = try await gate.http.get("/jobs?limit=1000").json?["jobs"]?.arrayValue?.count ?? 0
                #expect(listed <= 300 + 300 / 10 + 100 + workers, "retention let \(listed) records pile up")
            }
        }
    }
}
