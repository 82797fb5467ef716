import Foundation
import JSON
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// jobgate killed with SIGKILL at random moments while jobs run and requests are made: after every restart no
    /// acknowledged creation or status change is lost, and every record file parses.
    ///
    /// Each round creates a throttled job and applies verbs to it, creates a quick job that runs to its end, and
    /// dismisses earlier ones, all in flight when the kill comes. What counts as acknowledged: every record a
    /// 2xx answer carried, and every status change the event stream delivered (followed across the restarts with
    /// `Last-Event-ID`, so each job's statuses seen on the stream must be its stored history, in order).
    ///
    /// 50 rounds by default; `CRASH_ROUNDS=200 swift test --filter CrashTests` runs 200 (`CRASH_SEED` repeats a run).
    @Suite struct CrashTests {
        /// A small deterministic generator, so a failing run can be repeated with its seed.
        struct Generator: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state
            }
        }

        /// What the client was told: per job, the status history of the last record it received.
        final class Acknowledged: @unchecked Sendable {
            // Safe because only the test's own tasks touch it, under the lock.
            private let lock = NSLock()
            private var histories: [String: [String]] = [:]

            func note(_ record: JSONValue?) {
                guard let id = record?["id"]?.stringValue,
                    let history = record?["status-history"]?.arrayValue?.compactMap({ $0["status"]?.stringValue })
                else { return }
                lock.withLock {
                    if history.count >= histories[id]?.count ?? 0 { histories[id] = history }
                }
            }

            var all: [String: [String]] { lock.withLock { histories } }
        }

        @Test("SIGKILL at random moments loses no acknowledged record or status change, tears no file")
        func killAtRandom() async throws {
            let rounds = Int(ProcessInfo.processInfo.environment["CRASH_ROUNDS"] ?? "") ?? 50
            let seed =
                UInt64(ProcessInfo.processInfo.environment["CRASH_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
            var random = Generator(state: seed)
            let directory = try JobgateInstance.makeDataDirectory()
            let acknowledged = Acknowledged()
            var gate = try await JobgateInstance.start(dataDirectory: directory, arguments: [])
            do {
                let source = try await gate.http.post(
                    "/nodes", #"{"node-name":"src","driver":"null-co","size":67108864}"#)
                try #require(source.status == 201)
                var streamed: [String: [String]] = [:]
                var lastEventID: String?
                for round in 0..<rounds {
                    // List, then watch: until a stream has seen an event, each one starts from the cursor of a
                    // listing, so the events of a round whose stream saw none (jobgate killed before it sent
                    // them; they are in its journal) come with the next round's replay.
                    if lastEventID == nil {
                        lastEventID = try await gate.http.get("/jobs?limit=1").json?["event-cursor"]?.stringValue
                    }
                    let stream = try SSEClient(
                        port: gate.port, path: "/events?event=JOB_STATUS_CHANGE",
                        headers: lastEventID.map { ["Last-Event-ID": $0] } ?? [:])
                    let connected = await eventually(timeout: .seconds(10)) { stream.status != nil }
                    try #require(connected && stream.status == 200, "round \(round): the event stream did not open")
                    let quick = Task { [gate] in
                        let target = try await gate.http.post(
                            "/nodes", #"{"node-name":"u\#(round)","driver":"null-co","size":8388608}"#)
                        guard target.status == 201 else { return }
                        let created = try await gate.http.post(
                            "/jobs",
                            #"{"type":"backup","id":"q\#(round)","device":"src","target":"u\#(round)","sync":"full"}"#)
                        if created.status == 201 { acknowledged.note(created.json) }
                    }
                    let work = Task { [gate] in
                        let target = try await gate.http.post(
                            "/nodes", #"{"node-name":"t\#(round)","driver":"null-co","size":67108864}"#)
                        guard target.status == 201 else { return }
                        let created = try await gate.http.post(
                            "/jobs",
                            #"{"type":"backup","id":"c\#(round)","device":"src","target":"t\#(round)","sync":"full","speed":33554432,"auto-dismiss":false}"#
                        )
                        if created.status == 201 { acknowledged.note(created.json) }
                        for verb in ["pause", "resume", "pause", "resume"] {
                            _ = try await gate.http.post("/jobs/c\(round)/\(verb)")
                            acknowledged.note(try await gate.http.get("/jobs/c\(round)").json)
                        }
                        for earlier in stride(from: round - 1, through: max(0, round - 3), by: -1) {
                            let record = try await gate.http.get("/jobs/c\(earlier)").json
                            acknowledged.note(record)
                            if record?["status"] == "concluded" {
                                _ = try await gate.http.post("/jobs/c\(earlier)/dismiss")
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...400, using: &random)))
                    await gate.kill9()
                    _ = await work.result
                    _ = await quick.result
                    _ = await stream.wait(timeout: .seconds(5)) { _ in stream.ended }
                    stream.close()
                    for event in stream.events {
                        #expect(
                            event.name == "JOB_STATUS_CHANGE",
                            "round \(round) (seed \(seed)): \(event.name) \(event.data)")
                        guard let job = event.job, let status = event.json?["status"]?.stringValue else { continue }
                        streamed[job, default: []].append(status)
                        lastEventID = event.id ?? lastEventID
                    }

                    gate = try await JobgateInstance.start(dataDirectory: directory, arguments: [])
                    let quarantine =
                        (try? FileManager.default.contentsOfDirectory(atPath: directory + "/quarantine")) ?? []
                    #expect(quarantine.isEmpty, "round \(round) (seed \(seed)): torn files \(quarantine)")
                    for (id, history) in acknowledged.all {
                        let answer = try await gate.http.get("/jobs/\(id)?stats=false")
                        #expect(answer.status == 200, "round \(round) (seed \(seed)): acknowledged job \(id) lost")
                        let stored =
                            answer.json?["status-history"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
                        #expect(
                            Array(stored.prefix(history.count)) == history,
                            "round \(round) (seed \(seed)): \(id) had \(history), now \(stored)")
                    }
                    for (id, seen) in streamed {
                        let answer = try await gate.http.get("/jobs/\(id)/history")
                        let runs = answer.json?["runs"]?.arrayValue ?? []
                        let stored = runs.flatMap {
                            $0["status-history"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
                        }
                        #expect(
                            Array(stored.prefix(seen.count)) == seen,
                            "round \(round) (seed \(seed)): \(id) streamed \(seen), stored \(stored)")
                    }
                }
                #expect(acknowledged.all.count >= rounds / 2, "too few jobs were acknowledged to test anything")
                #expect(streamed.count >= rounds / 2, "too few jobs were seen on the event stream to test anything")
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }
    }
}
