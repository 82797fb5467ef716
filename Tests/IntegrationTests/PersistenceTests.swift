import Foundation
import JSON
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// Job records that outlive jobgate: snapshots on disk, frozen stats, history, idempotency.
    @Suite struct PersistenceTests {
        static let withBlkdebug = ["--allow-drivers", "file,qcow2,raw,null-co,blkdebug"]

        /// The stored record of each job, as `GET /jobs/{id}?stats=false` shows it.
        func records(_ gate: JobgateInstance, _ ids: [String]) async throws -> [String: JSONValue] {
            var result: [String: JSONValue] = [:]
            for id in ids {
                let answer = try await gate.http.get("/jobs/\(id)?stats=false")
                try #require(answer.status == 200, "\(id): \(answer.text)")
                result[id] = answer.json
            }
            return result
        }

        @Test("jobs of every outcome keep identical final stats across a restart, and across an engine death")
        func finalStatsSurvive() async throws {
            let first = try await JobgateInstance.start(arguments: Self.withBlkdebug)
            var gate = first
            do {
                try await gate.attachSourceAndTarget(filled: "8M")
                try await QemuTools.makeImage(gate.imageRoot + "/t2.qcow2", size: "64M")
                try await gate.addQcow2Node("t2", file: "t2.qcow2")
                try await QemuTools.img("create", "-f", "raw", gate.imageRoot + "/bad.raw", "64M")
                try await QemuTools.io(gate.imageRoot + "/bad.raw", "write -P 1 0 1M", format: "raw")
                let bad = try await gate.http.post(
                    "/nodes",
                    #"{"node-name":"bad","driver":"raw","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5}],"image":{"driver":"file","filename":"bad.raw"}}}"#
                )
                try #require(bad.status == 201, "\(bad.text)")

                try await gate.createJob(#"{"type":"backup","id":"ok","device":"src","target":"dst","sync":"full"}"#)
                try await gate.waitForJob("ok", status: ["null"])
                try await gate.createJob(
                    #"{"type":"backup","id":"kept","device":"src","target":"dst","sync":"full","auto-dismiss":false}"#)
                try await gate.waitForJob("kept", status: ["concluded"])
                try await gate.createJob(
                    #"{"type":"backup","id":"stopped","device":"src","target":"t2","sync":"full","speed":65536}"#)
                try await gate.waitForJob("stopped", status: ["running"])
                try await gate.verb("stopped", "cancel")
                try await gate.waitForJob("stopped", status: ["null"])
                try await gate.createJob(#"{"type":"backup","id":"broken","device":"bad","target":"t2","sync":"full"}"#)
                try await gate.waitForJob("broken", status: ["null"])

                let ids = ["ok", "kept", "stopped", "broken"]
                let before = try await records(gate, ids)
                #expect(before["ok"]?["stats"]?["outcome"] == "completed")
                #expect(before["kept"]?["stats"]?["outcome"] == "completed")
                #expect(before["stopped"]?["stats"]?["outcome"] == "cancelled")
                #expect(before["broken"]?["stats"]?["outcome"] == "failed")
                #expect(before["broken"]?["stats"]?["error"] == "Input/output error")
                #expect(before["ok"]?["stats"]?["bytes-done"] == .int(64 << 20))

                // jobgate restarts; the engine lives on.
                await gate.kill9()
                gate = try await JobgateInstance.start(dataDirectory: first.dataDirectory, arguments: Self.withBlkdebug)
                let afterRestart = try await records(gate, ids)
                for id in ids {
                    #expect(afterRestart[id] == before[id], "\(id) changed across a restart")
                }
                #expect(afterRestart["kept"]?["allowed-verbs"] == ["dismiss"])

                // The engine dies while jobgate is down: the stats stay; the undismissed job is gone with it.
                await gate.kill9()
                if let engine = gate.enginePID { kill(engine, SIGKILL) }
                gate = try await JobgateInstance.start(dataDirectory: first.dataDirectory, arguments: Self.withBlkdebug)
                let afterEngine = try await records(gate, ids)
                for id in ids {
                    #expect(afterEngine[id]?["stats"] == before[id]?["stats"], "\(id)'s stats changed with the engine")
                }
                #expect(afterEngine["kept"]?["status"] == "null")
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("a running job survives a jobgate restart and its stats continue")
        func runningJobContinues() async throws {
            let first = try await JobgateInstance.start(arguments: [])
            var gate = first
            do {
                try await gate.attachSourceAndTarget(filled: "32M")
                try await gate.createJob(
                    #"{"type":"backup","id":"r0","device":"src","target":"dst","sync":"full","speed":524288}"#)
                try await gate.waitForJob("r0", status: ["running"])
                try await Task.sleep(for: .seconds(1))
                let before = try await gate.job("r0")
                await gate.stop()
                gate = try await JobgateInstance.start(dataDirectory: first.dataDirectory, arguments: [])
                let after = try await gate.job("r0")
                #expect(after["status"] == "running")
                #expect(after["created-at"] == before["created-at"])
                #expect(after["request"] == before["request"], "the creation request was lost")
                let durationBefore = before["stats"]?["duration-seconds"]?.doubleValue ?? 0
                let durationAfter = after["stats"]?["duration-seconds"]?.doubleValue ?? 0
                #expect(durationAfter > durationBefore, "duration restarted: \(durationBefore) -> \(durationAfter)")
                let bytesBefore = before["stats"]?["bytes-done"]?.intValue ?? 0
                let grew = try await eventually(timeout: .seconds(20)) {
                    try await gate.job("r0")["stats"]?["bytes-done"]?.intValue ?? 0 > bytesBefore
                }
                #expect(grew)
                let rated = try await eventually(timeout: .seconds(10)) {
                    try await gate.job("r0")["stats"]?["eta-seconds"]?.doubleValue != nil
                }
                #expect(rated, "no ETA while running")
                try await gate.verb("r0", "set-speed", #"{"speed":0}"#)
                try await gate.waitForJob("r0", status: ["null"])
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("a reused id keeps every run reachable, across restarts; listing pages and filters")
        func historyAndListing() async throws {
            let first = try await JobgateInstance.start()
            var gate = first
            do {
                try await gate.attachSourceAndTarget(filled: "1M")
                for round in 1...3 {
                    try await gate.createJob(
                        #"{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full"}"#)
                    let done = try await gate.waitForJob("b0", status: ["null"])
                    #expect(done["run"] == .int(Int64(round)))
                }
                try await gate.createJob(#"{"type":"backup","id":"b1","device":"src","target":"dst","sync":"full"}"#)
                try await gate.waitForJob("b1", status: ["null"])
                await gate.stop()
                gate = try await JobgateInstance.start(dataDirectory: first.dataDirectory)
                let history = try await gate.http.get("/jobs/b0/history").json?["runs"]?.arrayValue ?? []
                #expect(history.map { $0["run"] } == [1, 2, 3])
                #expect(try await gate.job("b0")["run"] == 3)

                let page = try await gate.http.get("/jobs?limit=1&view=summary").json
                #expect(page?["jobs"]?.arrayValue?.count == 1)
                #expect(page?["jobs"]?.arrayValue?.first?["id"] == "b0")
                #expect(page?["jobs"]?.arrayValue?.first?["status-history"] == nil)
                let cursor = try #require(page?["next-cursor"]?.stringValue)
                let next = try await gate.http.get("/jobs?limit=1&cursor=\(cursor)").json
                #expect(next?["jobs"]?.arrayValue?.first?["id"] == "b1")
                #expect(next?["next-cursor"] == .null)
                #expect(page?["event-cursor"]?.stringValue?.contains("-") == true)
                #expect(try await gate.http.get("/jobs?id=b1").json?["jobs"]?.arrayValue?.count == 1)
                #expect(try await gate.http.get("/jobs?status=running").json?["jobs"]?.arrayValue?.count == 0)
                #expect(try await gate.http.get("/jobs?status=bogus").status == 400)
                #expect(try await gate.http.get("/jobs?cursor=nonsense").status == 400)

                // Every status change went to the event journal, with ids <epoch>-<sequence>.
                let journal = [
                    first.dataDirectory + "/events/journal.1.jsonl", first.dataDirectory + "/events/journal.jsonl",
                ]
                .compactMap { FileManager.default.contents(atPath: $0) }
                .flatMap { $0.split(separator: UInt8(ascii: "\n")) }
                .compactMap { try? JSONValue.parse(Data($0)) }
                let b0 = journal.filter { $0["job"] == "b0" && $0["event"] == "JOB_STATUS_CHANGE" }
                    .compactMap { $0["data"]?["status"]?.stringValue }
                let runs = b0.split(separator: "created", omittingEmptySubsequences: true)
                #expect(runs.count == 3, "\(b0)")
                for run in runs {
                    #expect(Array(run.suffix(4)) == ["waiting", "pending", "concluded", "null"], "\(b0)")
                }
                #expect(journal.contains { $0["job"] == "b0" && $0["event"] == "BLOCK_JOB_COMPLETED" })
                let epochs = Set(journal.compactMap { $0["id"]?.stringValue?.split(separator: "-").first })
                #expect(!epochs.isEmpty)
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("Idempotency-Key: a retry replays, another body is 422, and keys survive a restart")
        func idempotency() async throws {
            let first = try await JobgateInstance.start()
            var gate = first
            do {
                try await gate.attachSourceAndTarget(filled: "1M")
                let body =
                    #"{"type":"backup","id":"i0","device":"src","target":"dst","sync":"full","auto-dismiss":false}"#
                let headers = ["Idempotency-Key": "create-i0"]
                let created = try await gate.http.send("POST", "/jobs", body: body, headers: headers)
                #expect(created.status == 201, "\(created.text)")
                let retried = try await gate.http.send("POST", "/jobs", body: body, headers: headers)
                #expect(retried.status == 201)
                #expect(retried.body == created.body)
                #expect(retried.header("Idempotent-Replayed") == "true")
                let other = try await gate.http.send(
                    "POST", "/jobs", body: body.replacingOccurrences(of: "i0", with: "i1"), headers: headers)
                #expect(other.status == 422)
                #expect(other.json?["type"] == "urn:jobgate:problem:idempotency-key-reused")
                try await gate.waitForJob("i0", status: ["concluded"])
                await gate.stop()
                gate = try await JobgateInstance.start(dataDirectory: first.dataDirectory)
                let afterRestart = try await gate.http.send("POST", "/jobs", body: body, headers: headers)
                #expect(afterRestart.status == 201)
                #expect(afterRestart.body == created.body)
                #expect(
                    try await gate.http.get("/jobs/i0/history").json?["runs"]?.arrayValue?.count == 1,
                    "a replay ran the job again")
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("a corrupt record file and a future schema version are quarantined; jobgate serves the rest")
        func quarantine() async throws {
            let first = try await JobgateInstance.start()
            var gate = first
            do {
                try await gate.attachSourceAndTarget(filled: "1M")
                try await gate.createJob(#"{"type":"backup","id":"good","device":"src","target":"dst","sync":"full"}"#)
                try await gate.waitForJob("good", status: ["null"])
                await gate.stop()
                let records = first.dataDirectory + "/records"
                try Data("{\"version\":1,\"record\":{\"id\":\"to".utf8).write(
                    to: URL(fileURLWithPath: records + "/torn~1.json"))
                try Data(#"{"version":7,"record":{"id":"future"}}"#.utf8).write(
                    to: URL(fileURLWithPath: records + "/future~1.json"))
                gate = try await JobgateInstance.start(dataDirectory: first.dataDirectory)
                let jobs = try await gate.http.get("/jobs").json?["jobs"]?.arrayValue ?? []
                #expect(jobs.compactMap { $0["id"]?.stringValue } == ["good"])
                let quarantined = try FileManager.default.contentsOfDirectory(
                    atPath: first.dataDirectory + "/quarantine")
                #expect(quarantined.count == 2, "\(quarantined)")
                #expect(gate.process.output.contains("quarantined a snapshot file"))
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }
    }
}
