import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// jobgate can crash without taking the jobs with it: the engine lives in its own session.
    @Suite struct ReattachTests {
        @Test("after kill -9 jobgate re-attaches to the same engine and the backup still runs")
        func survivesKill() async throws {
            let first = try await JobgateInstance.start(arguments: [])
            var second: JobgateInstance?
            do {
                try await first.attachSourceAndTarget(filled: "32M")
                try await first.createJob(
                    #"{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full","speed":524288}"#)
                try await first.waitForJob("b0", status: ["running"])
                let engine = try #require(first.enginePID)

                await first.kill9()
                #expect(kill(engine, 0) == 0, "the engine died with jobgate")

                second = try await JobgateInstance.start(
                    dataDirectory: first.dataDirectory, port: first.port, arguments: [])
                let gate = try #require(second)
                #expect(gate.enginePID == engine, "a new engine was started instead of re-attaching")
                #expect(gate.process.output.contains("attached to running QEMU engine"))

                let listed = try await gate.http.get("/jobs").json?["jobs"]?.arrayValue ?? []
                let job = try #require(listed.first { $0["id"] == "b0" }, "b0 not listed after restart: \(listed)")
                #expect(job["status"] == "running")
                #expect(job["type"] == "backup")
                let before = try await gate.job("b0")["current-progress"]?.intValue ?? 0
                let progressed = try await eventually(timeout: .seconds(20)) {
                    try await gate.job("b0")["current-progress"]?.intValue ?? 0 > before
                }
                #expect(progressed, "the backup does not progress after the restart")

                // Still under control: verbs work through the new jobgate.
                try await gate.verb("b0", "set-speed", #"{"speed":0}"#)
                try await gate.waitForJob("b0", status: ["null"])
            } catch {
                await (second ?? first).cleanUp()
                throw error
            }
            await (second ?? first).cleanUp()
        }
    }
}
