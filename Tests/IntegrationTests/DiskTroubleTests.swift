import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// The data directory on a small tmpfs that fills up, or is remounted read-only, while jobs are created, paused
    /// and dismissed: jobgate answers 2xx or 507, says 503 on `/readyz`, resumes by itself once writes work again,
    /// and after a SIGKILL every acknowledged job and status change is there.
    ///
    /// Needs root (mount); the test command runs as root in CI, and a run without root fails here, it is not skipped.
    @Suite struct DiskTroubleTests {
        @Test("a full data disk: 2xx or 507 throughout, 503 while full, resumed by itself, nothing acknowledged lost")
        func fullDisk() async throws {
            try await runThroughTrouble(
                impair: { mount in
                    // Fill every free byte; jobgate's next write that needs a new page fails with ENOSPC.
                    _ = try await ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(mount)/filler", "bs=4k"])
                },
                repair: { mount in try FileManager.default.removeItem(atPath: mount + "/filler") })
        }

        @Test("a data disk remounted read-only mid-run: the same, until it is read-write again")
        func readOnlyRemount() async throws {
            try await runThroughTrouble(
                impair: { mount in
                    // jobgate holds no file open for writing between writes; retry while a write is under way.
                    let done = try await eventually(timeout: .seconds(20), interval: .milliseconds(5)) {
                        try await ChildProcess.run("/bin/mount", ["-o", "remount,ro", mount]).status == 0
                    }
                    try #require(done, "the tmpfs could not be remounted read-only")
                },
                repair: { mount in
                    let result = try await ChildProcess.run("/bin/mount", ["-o", "remount,rw", mount])
                    try #require(result.status == 0, "\(result.output)")
                })
        }

        /// What the client was acknowledged, and whether every answer was 2xx or a 507 problem.
        final class Ledger: @unchecked Sendable {
            // Safe because it is touched under the lock only.
            private let lock = NSLock()
            private var histories: [String: [String]] = [:]
            private(set) var refusals = 0
            private(set) var unexpected: [String] = []
            /// Jobs whose `resume` was refused with 507: left paused until the client tries again.
            private(set) var refusedResumes: Set<String> = []

            func noteRefusedResume(_ id: String) { lock.withLock { _ = refusedResumes.insert(id) } }

            /// Checks one answer; notes the record it carries, if any.
            func note(_ what: String, _ answer: HTTP.Result) {
                lock.withLock {
                    if answer.status == 507 {
                        refusals += 1
                        if answer.header("Content-Type") != "application/problem+json"
                            || answer.json?["type"] != "urn:jobgate:problem:storage-failing"
                            || !(answer.json?["detail"]?.stringValue ?? "").contains("data directory")
                        {
                            unexpected.append("\(what): 507 that is not a storage-failing problem: \(answer.text)")
                        }
                        return
                    }
                    guard (200..<300).contains(answer.status) else {
                        unexpected.append("\(what): \(answer.status) \(answer.text)")
                        return
                    }
                    guard let record = answer.json, let id = record["id"]?.stringValue,
                        let history = record["status-history"]?.arrayValue?.compactMap({ $0["status"]?.stringValue })
                    else { return }
                    if history.count >= histories[id]?.count ?? 0 { histories[id] = history }
                }
            }

            var acknowledged: [String: [String]] { lock.withLock { histories } }
        }

        /// One round of work: a throttled backup between null-co nodes, pause, resume, and a dismiss of an earlier
        /// job that has concluded. Every answer goes through `ledger`.
        func work(_ gate: JobgateInstance, round: Int, ledger: Ledger) async throws {
            ledger.note(
                "POST /nodes t\(round)",
                try await gate.http.post("/nodes", #"{"node-name":"t\#(round)","driver":"null-co","size":8388608}"#))
            ledger.note(
                "POST /jobs c\(round)",
                try await gate.http.post(
                    "/jobs",
                    #"{"type":"backup","id":"c\#(round)","device":"src","target":"t\#(round)","sync":"full","speed":16777216,"auto-dismiss":false}"#
                ))
            for verb in ["pause", "resume"] {
                let answer = try await gate.http.post("/jobs/c\(round)/\(verb)")
                ledger.note("\(verb) c\(round)", answer)
                if verb == "resume" && answer.status == 507 { ledger.noteRefusedResume("c\(round)") }
            }
            if round > 0 {
                let earlier = try await gate.http.get("/jobs/c\(round - 1)")
                if earlier.status != 404 { ledger.note("GET c\(round - 1)", earlier) }
                if earlier.json?["status"] == "concluded" {
                    ledger.note("dismiss c\(round - 1)", try await gate.http.post("/jobs/c\(round - 1)/dismiss"))
                }
            }
        }

        func runThroughTrouble(
            impair: @Sendable (String) async throws -> Void, repair: @Sendable (String) async throws -> Void
        ) async throws {
            try #require(getuid() == 0, "DiskTroubleTests mount a tmpfs and must run as root (CI does)")
            let root = NSTemporaryDirectory() + "jg-disk-\(UUID().uuidString.prefix(8))"
            let mount = root + "/mnt"
            try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
            let mounted = try await ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mount])
            try #require(mounted.status == 0, "mount: \(mounted.output)")
            // The engine lives outside the small disk, so only jobgate's own writes meet the trouble.
            let socket = root + "/qmp.sock"
            let engine = try ChildProcess(
                try QemuTools.tool("qemu-storage-daemon"),
                ["--chardev", "socket,id=m0,path=\(socket),server=on,wait=off", "--monitor", "chardev=m0"],
                outputPath: root + "/qsd.out")
            _ = await eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: socket) }
            let data = mount + "/data"
            let arguments = ["--qmp-socket", socket, "--image-root", root + "/images"]
            var gate = try await JobgateInstance.start(
                dataDirectory: data, arguments: arguments, logPath: root + "/jobgate.out")
            defer {
                gate.process.signal(SIGKILL)
                engine.signal(SIGKILL)
                _ = umount2(mount, Int32(MNT_DETACH))
                try? FileManager.default.removeItem(atPath: root)
            }
            let ledger = Ledger()
            ledger.note(
                "POST /nodes src",
                try await gate.http.post("/nodes", #"{"node-name":"src","driver":"null-co","size":8388608}"#))
            var round = 0
            for _ in 0..<3 {
                try await work(gate, round: round, ledger: ledger)
                round += 1
            }
            #expect(ledger.refusals == 0, "507 before the disk had any trouble")

            try await impair(mount)
            var failing = false
            for _ in 0..<60 where !failing {
                try await work(gate, round: round, ledger: ledger)
                round += 1
                failing = try await gate.http.get("/readyz").status == 503
            }
            try #require(failing, "/readyz never turned 503 with the data disk in trouble")
            let notReady = try await gate.http.get("/readyz")
            #expect(notReady.json?["type"] == "urn:jobgate:problem:storage-failing", "\(notReady.text)")
            #expect((notReady.json?["detail"]?.stringValue ?? "").contains(data), "\(notReady.text)")
            let refused = try await gate.http.post(
                "/jobs", #"{"type":"backup","id":"refused","device":"src","target":"t0","sync":"full"}"#)
            #expect(refused.status == 507, "a change accepted while the disk fails: \(refused.status) \(refused.text)")
            #expect(try await gate.http.get("/jobs").status == 200, "reads stopped while the disk fails")
            for _ in 0..<3 {
                try await work(gate, round: round, ledger: ledger)
                round += 1
            }
            #expect(ledger.refusals > 0, "no request was refused with 507 while the disk failed")

            try await repair(mount)
            let resumed = try await eventually(timeout: .seconds(15)) {
                try await gate.http.get("/readyz").status == 200
            }
            try #require(resumed, "jobgate did not resume by itself once the disk took writes again")
            let refusalsBefore = ledger.refusals
            for _ in 0..<3 {
                try await work(gate, round: round, ledger: ledger)
                round += 1
            }
            #expect(ledger.refusals == refusalsBefore, "507 after jobgate said it had resumed")
            // A client tries a refused resume again once jobgate takes changes (a job it leaves paused never ends).
            for id in ledger.refusedResumes { _ = try await gate.http.post("/jobs/\(id)/resume") }
            // The events QEMU sent while the disk failed were held, and are published now: every job ran to its end.
            var unfinished: [String] = []
            let allEnded = try await eventually(timeout: .seconds(20)) {
                unfinished = []
                for id in ledger.acknowledged.keys {
                    let status = try await gate.http.get("/jobs/\(id)?stats=false").json?["status"]?.stringValue
                    if status != "concluded" && status != "null" { unfinished.append("\(id): \(status ?? "?")") }
                }
                return unfinished.isEmpty
            }
            #expect(allEnded, "jobs whose ends were held never showed them: \(unfinished)")
            #expect(ledger.unexpected.isEmpty, "answers that are neither 2xx nor a 507 problem: \(ledger.unexpected)")

            await gate.kill9()
            gate = try await JobgateInstance.start(
                dataDirectory: data, arguments: arguments, logPath: root + "/jobgate.out")
            let quarantine = (try? FileManager.default.contentsOfDirectory(atPath: data + "/quarantine")) ?? []
            #expect(quarantine.isEmpty, "quarantined after the restart: \(quarantine)")
            let acknowledged = ledger.acknowledged
            #expect(acknowledged.count >= 6, "too few jobs were acknowledged to test anything: \(acknowledged.keys)")
            for (id, history) in acknowledged {
                let answer = try await gate.http.get("/jobs/\(id)?stats=false")
                #expect(answer.status == 200, "acknowledged job \(id) lost")
                let stored = answer.json?["status-history"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
                #expect(
                    Array(stored.prefix(history.count)) == history, "\(id) was acknowledged \(history), now \(stored)")
            }
        }
    }
}
