import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// `GET /events` against a real engine: QEMU's event sequences, resume across a restart, resync, filters,
    /// slow and vanished subscribers, many subscribers.
    @Suite struct EventStreamTests {
        /// One job's events as a readable sequence: `JSC(status)` for status changes (drain pairs removed, as in
        /// `Scenario.statuses`), QEMU's names for the others, `JOB_PROGRESS` left out.
        static func sequence(_ events: [SSEClient.Event], job: String) -> [String] {
            let mine = events.filter { $0.job == job && $0.name != "JOB_PROGRESS" }
            var dropped = Set<Int>()
            let changes = mine.indices.filter { mine[$0].name == "JOB_STATUS_CHANGE" }
            for (position, index) in changes.enumerated() where position + 1 < changes.count && position > 0 {
                let status = mine[index].json?["status"]?.stringValue
                let next = mine[changes[position + 1]]
                guard ["paused", "standby"].contains(status),
                    next.json?["status"] == mine[changes[position - 1]].json?["status"],
                    let at = timestamp(mine[index]), let back = timestamp(next),
                    back.timeIntervalSince(at) < Scenario.drainPairLimit
                else { continue }
                dropped.formUnion([index, changes[position + 1]])
            }
            return mine.indices.filter { !dropped.contains($0) }.map { index in
                let event = mine[index]
                return event.name == "JOB_STATUS_CHANGE"
                    ? "JSC(\(event.json?["status"]?.stringValue ?? "?"))" : event.name
            }
        }

        static func timestamp(_ event: SSEClient.Event) -> Date? {
            event.json?["timestamp"]?.stringValue.flatMap(Scenario.date)
        }

        /// Whether the job's `null` status change has arrived.
        static func ended(_ job: String) -> ([SSEClient.Event]) -> Bool {
            { events in events.contains { $0.job == job && $0.json?["status"] == "null" } }
        }

        /// Event ids as (epoch, sequence), checked to grow strictly.
        static func expectIncreasingIDs(_ events: [SSEClient.Event], sourceLocation: SourceLocation = #_sourceLocation)
        {
            let ids = events.compactMap { $0.id }.map { id -> [Int] in id.split(separator: "-").compactMap { Int($0) } }
            #expect(ids.count == events.count, sourceLocation: sourceLocation)
            #expect(
                zip(ids, ids.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) },
                sourceLocation: sourceLocation)
        }

        func nullNodes(_ gate: JobgateInstance, size: Int = 67_108_864) async throws {
            for name in ["s", "t"] {
                let answer = try await gate.http.post(
                    "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":\#(size)}"#)
                try #require(answer.status == 201, "\(answer.text)")
            }
        }

        @Test("a backup and a mirror through SSE: QEMU's status sequence, BLOCK_JOB_* in place, JOB_PROGRESS between")
        func followBackupAndMirror() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "32M")
                let client = try SSEClient(port: gate.port, path: "/events")
                #expect(await client.wait { _ in client.status != nil })
                #expect(client.status == 200)
                #expect(client.header("Content-Type") == "text/event-stream")
                #expect(client.header("Cache-Control") == "no-cache")
                #expect(client.header("X-Accel-Buffering") == "no")
                #expect(await client.wait { _ in client.retry != nil })

                // 64 MiB at 16 MiB/s: about 4 s of progress.
                try await gate.createJob(
                    #"{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full","speed":16777216}"#)
                #expect(await client.wait(until: Self.ended("b0")))
                try await gate.createJob(
                    #"{"type":"mirror","id":"m0","device":"src","target":"dst","sync":"full","speed":16777216}"#)
                try await gate.waitForJob("m0", status: ["ready"])
                try await gate.verb("m0", "complete")
                #expect(await client.wait(until: Self.ended("m0")))

                let events = client.events
                Self.expectIncreasingIDs(events)
                #expect(
                    Self.sequence(events, job: "b0") == [
                        "JSC(created)", "JSC(running)", "JSC(waiting)", "JSC(pending)", "BLOCK_JOB_COMPLETED",
                        "JSC(concluded)", "JSC(null)",
                    ])
                #expect(
                    Self.sequence(events, job: "m0") == [
                        "JSC(created)", "JSC(running)", "JSC(ready)", "BLOCK_JOB_READY", "JSC(waiting)",
                        "JSC(pending)", "BLOCK_JOB_COMPLETED", "JSC(concluded)", "JSC(null)",
                    ])
                // QEMU's data, plus a timestamp.
                let completed = try #require(events.first { $0.name == "BLOCK_JOB_COMPLETED" && $0.job == "b0" }?.json)
                #expect(completed["type"] == "backup" && completed["device"] == "b0")
                #expect(completed["len"] == completed["offset"] && completed["speed"] == 16_777_216)
                #expect(completed["error"] == nil && Self.timestamp(events.first!) != nil)

                // Progress: between running and waiting, growing, at most about twice a second.
                let b0 = events.filter { $0.job == "b0" }
                let running = try #require(b0.firstIndex { $0.json?["status"] == "running" })
                let waiting = try #require(b0.firstIndex { $0.json?["status"] == "waiting" })
                let progress = b0.indices.filter { b0[$0].name == "JOB_PROGRESS" }
                #expect(progress.count >= 3, "\(progress.count) progress events")
                #expect(progress.allSatisfy { $0 > running && $0 < waiting })
                let values = progress.compactMap { b0[$0].json?["current-progress"]?.intValue }
                #expect(values == values.sorted() && Set(values).count == values.count)
                let times = progress.compactMap { Self.timestamp(b0[$0]) }
                #expect(zip(times, times.dropFirst()).allSatisfy { $1.timeIntervalSince($0) >= 0.45 })
                #expect(
                    b0[progress[0]].json?["total-progress"] == 67_108_864 && b0[progress[0]].json?["type"] == "backup")
                client.close()
            }
        }

        @Test("resume: a client reconnects after a jobgate restart and gets every missed event once, in order")
        func resumeAcrossRestart() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            // The engine outlives jobgate (no --stop-engine-on-exit), so the job keeps running across the restart.
            var gate = try await JobgateInstance.start(dataDirectory: directory, arguments: [])
            do {
                try await nullNodes(gate)
                let first = try SSEClient(port: gate.port, path: "/events")
                try await gate.createJob(
                    #"{"type":"backup","id":"r0","device":"s","target":"t","sync":"full","speed":8388608}"#)
                #expect(await first.wait { $0.filter { $0.name == "JOB_PROGRESS" }.count >= 2 })
                first.close()
                let seen = first.events
                let lastID = try #require(seen.last?.id)
                #expect(await gate.stop() == 0)
                try await Task.sleep(for: .milliseconds(500))
                gate = try await JobgateInstance.start(dataDirectory: directory, port: gate.port, arguments: [])
                let second = try SSEClient(port: gate.port, path: "/events", headers: ["Last-Event-ID": lastID])
                #expect(await second.wait(until: Self.ended("r0")))
                let missed = second.events
                #expect(!missed.contains { $0.name == "resync" })
                #expect(Set(missed.compactMap(\.id)).isDisjoint(with: seen.compactMap(\.id)))
                Self.expectIncreasingIDs(seen + missed)
                #expect(
                    Self.sequence(seen + missed, job: "r0") == [
                        "JSC(created)", "JSC(running)", "JSC(waiting)", "JSC(pending)", "BLOCK_JOB_COMPLETED",
                        "JSC(concluded)", "JSC(null)",
                    ])
                // A client replaying everything from before the first event sees exactly the two halves.
                let epoch = try #require(seen.first?.id?.split(separator: "-").first)
                let everything = try SSEClient(port: gate.port, path: "/events?last-event-id=\(epoch)-0")
                #expect(await everything.wait(until: Self.ended("r0")))
                #expect(everything.events.map(\.id) == (seen + missed).map(\.id))
                #expect(everything.events.map(\.data) == (seen + missed).map(\.data))
                second.close()
                everything.close()
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }

        @Test("too-old and unknown cursors get a resync; bad cursors and filters are 400; filters; per-job 204")
        func resyncFiltersAndPerJob() async throws {
            // History for 16 events; the three jobs before the first subscription make about 27.
            try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--event-history", "16"]) { gate in
                try await nullNodes(gate, size: 1_048_576)
                for id in ["a0", "b0", "c0"] {
                    try await gate.createJob(
                        #"{"type":"backup","id":"\#(id)","device":"s","target":"t","sync":"full"}"#)
                    try await gate.waitForJob(id, status: ["null"])
                }
                let listed = try #require(try await gate.http.get("/jobs").json?["event-cursor"]?.stringValue)
                let epoch = listed.split(separator: "-")[0]

                let old = try SSEClient(port: gate.port, path: "/events", headers: ["Last-Event-ID": "\(epoch)-1"])
                let unknown = try SSEClient(port: gate.port, path: "/events?last-event-id=99999-1")
                #expect(await old.wait { !$0.isEmpty })
                #expect(await unknown.wait { !$0.isEmpty })
                #expect(old.events.first?.name == "resync" && old.events.first?.id == listed)
                #expect(old.events.first?.json?["reason"] == "cursor-too-old")
                #expect(unknown.events.first?.json?["reason"] == "unknown-cursor")

                let byJob = try SSEClient(port: gate.port, path: "/events?job=a1")
                let byType = try SSEClient(port: gate.port, path: "/events?type=mirror")
                let byName = try SSEClient(port: gate.port, path: "/events?event=BLOCK_JOB_COMPLETED")
                try await Task.sleep(for: .milliseconds(200))
                try await gate.createJob(#"{"type":"backup","id":"a1","device":"s","target":"t","sync":"full"}"#)
                try await gate.waitForJob("a1", status: ["null"])
                // a2 runs about a second; its per-job stream opens once it exists, replaying from before it.
                let beforeA2 = try #require(try await gate.http.get("/jobs").json?["event-cursor"]?.stringValue)
                try await gate.createJob(
                    #"{"type":"backup","id":"a2","device":"s","target":"t","sync":"full","speed":1048576}"#)
                let perJob = try SSEClient(port: gate.port, path: "/jobs/a2/events?last-event-id=\(beforeA2)")
                try await gate.waitForJob("a2", status: ["null"])
                #expect(await old.wait(until: Self.ended("a2")))
                // The too-old stream goes on live after its resync.
                #expect(Self.sequence(old.events, job: "a1").last == "JSC(null)")
                #expect(await byJob.wait(until: Self.ended("a1")))
                #expect(await byName.wait { $0.count == 2 })
                #expect(Set(byJob.events.compactMap(\.job)) == ["a1"])
                #expect(byName.events.map(\.name) == ["BLOCK_JOB_COMPLETED", "BLOCK_JOB_COMPLETED"])
                #expect(byType.events.isEmpty)
                #expect(await perJob.wait(until: Self.ended("a2")))
                #expect(Self.sequence(perJob.events, job: "a2").first == "JSC(created)")
                #expect(Set(perJob.events.compactMap(\.job)) == ["a2"])

                let missing = try await gate.http.get("/jobs/nope/events")
                #expect(missing.status == 204 && missing.body.isEmpty)
                for path in [
                    "/events?type=bogus", "/events?event=BOGUS", "/events?job=", "/events?last-event-id=12",
                    "/events?color=red", "/jobs/a0/events?job=a1",
                ] {
                    let answer = try await gate.http.get(path)
                    #expect(answer.status == 400, "\(path): \(answer.status)")
                    #expect(answer.header("Content-Type") == "application/problem+json", "\(path)")
                    #expect(answer.json?["detail"]?.stringValue?.isEmpty == false, "\(path)")
                }
                let badHeader = try await gate.http.send("GET", "/events", headers: ["Last-Event-ID": "yesterday"])
                #expect(badHeader.status == 400 && badHeader.json?["header"] == "Last-Event-ID")
                #expect(badHeader.json?["type"] == "urn:jobgate:problem:invalid-header")
                let badQuery = try await gate.http.get("/events?type=bogus")
                #expect(
                    badQuery.json?["type"] == "urn:jobgate:problem:invalid-query"
                        && badQuery.json?["parameter"] == "type")
                let badBoolean = try await gate.http.get("/jobs/x?stats=AAA")
                #expect(badBoolean.status == 400 && badBoolean.json?["parameter"] == "stats", "\(badBoolean.text)")
                for client in [old, unknown, byJob, byType, byName, perJob] { client.close() }
            }
        }

        @Test("a stuck subscriber delays nobody and is closed with a resync once its queue is full")
        func slowSubscriber() async throws {
            try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--sse-queue", "32"]) { gate in
                try await nullNodes(gate, size: 65_536)
                let stuck = try SSEClient(port: gate.port, path: "/events", receiveBuffer: 4096)
                let reader = try SSEClient(port: gate.port, path: "/events")
                #expect(await stuck.wait { _ in stuck.retry != nil })
                stuck.pause()
                let jobs = 200
                for index in 0..<jobs {
                    let answer = try await gate.http.post(
                        "/jobs", #"{"type":"backup","id":"j\#(index)","device":"s","target":"t","sync":"full"}"#)
                    #expect(answer.status == 201, "\(answer.text)")
                    // The reader keeps up while the stuck one does not read at all.
                    if index % 50 == 49 {
                        #expect(await reader.wait(timeout: .seconds(10), until: Self.ended("j\(index)")))
                    }
                }
                #expect(await reader.wait(until: Self.ended("j\(jobs - 1)")))
                for index in 0..<jobs {
                    #expect(Self.sequence(reader.events, job: "j\(index)").last == "JSC(null)", "j\(index)")
                }
                #expect(try await gate.http.get("/healthz").status == 200)
                stuck.resume()
                #expect(await stuck.wait { $0.last?.name == "resync" })
                #expect(await eventually(timeout: .seconds(10)) { stuck.ended }, "the stuck stream is closed")
                let received = stuck.events
                #expect(received.last?.json?["reason"] == "queue-overflow")
                #expect(received.count < reader.events.count, "events were skipped, and said so")
                Self.expectIncreasingIDs(received)
                reader.close()
            }
        }

        @Test("200 concurrent subscribers each receive every event of a job")
        func manySubscribers() async throws {
            try await JobgateInstance.with { gate in
                try await nullNodes(gate, size: 8_388_608)
                let clients = try (0..<200).map { _ in try SSEClient(port: gate.port, path: "/events?job=c0") }
                #expect(
                    try await eventually(timeout: .seconds(30)) {
                        try await gate.http.get("/healthz").json?["event-streams"] == 200
                    })
                try await gate.createJob(
                    #"{"type":"backup","id":"c0","device":"s","target":"t","sync":"full","speed":4194304}"#)
                for client in clients { #expect(await client.wait(until: Self.ended("c0"))) }
                let expected = clients[0].events
                #expect(
                    Self.sequence(expected, job: "c0") == [
                        "JSC(created)", "JSC(running)", "JSC(waiting)", "JSC(pending)", "BLOCK_JOB_COMPLETED",
                        "JSC(concluded)", "JSC(null)",
                    ])
                #expect(expected.contains { $0.name == "JOB_PROGRESS" })
                for client in clients { #expect(client.events == expected) }
                for client in clients { client.close() }
            }
        }

        @Test("heartbeats find a subscriber killed without closing and free it; shutdown ends every stream")
        func heartbeatsAndShutdown() async throws {
            let gate = try await JobgateInstance.start(arguments: ["--stop-engine-on-exit", "--sse-heartbeat", "0.5"])
            do {
                let streams = { try await gate.http.get("/healthz").json?["event-streams"]?.intValue }
                let watcher = try SSEClient(port: gate.port, path: "/events")
                let curl = try ChildProcess(
                    "/usr/bin/curl", ["-sN", "http://127.0.0.1:\(gate.port)/events"],
                    outputPath: gate.dataDirectory + "/curl.out")
                #expect(try await eventually { try await streams() == 2 })
                #expect(await watcher.wait(timeout: .seconds(5)) { _ in watcher.comments >= 2 }, "heartbeats arrive")
                curl.signal(SIGKILL)
                await curl.wait(timeout: .seconds(5))
                #expect(try await eventually(timeout: .seconds(10)) { try await streams() == 1 })
                #expect(await gate.stop() == 0)
                #expect(await eventually(timeout: .seconds(5)) { watcher.ended })
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }
    }
}
