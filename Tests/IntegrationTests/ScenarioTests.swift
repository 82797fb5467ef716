import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// QEMU's job scenarios (as its iotests record them), run through jobgate on a real engine: the status sequence jobgate
    /// records equals QEMU's, and refusals read as QEMU's.
    @Suite struct ScenarioTests {
        /// jobgate with the copy-on-read filter allowed, for `attachWithFront`.
        static let withFilter = ["--stop-engine-on-exit", "--allow-drivers", "file,qcow2,raw,null-co,copy-on-read"]

        /// src (data) and dst qcow2 nodes, with a filter node `front` on top of src, so a pivot is visible: a
        /// mirror of `front` that replaces `src` leaves `front` reading from dst once completed.
        func attachWithFront(_ gate: JobgateInstance) async throws {
            try await gate.attachSourceAndTarget(filled: "32M")
            let front = try await gate.http.post(
                "/nodes", #"{"node-name":"front","driver":"copy-on-read","file":"src"}"#)
            try #require(front.status == 201, "\(front.text)")
        }

        /// Which of the two images `front` reads from now.
        func frontImage(_ gate: JobgateInstance) async throws -> String {
            let nodes = try await gate.http.get("/nodes").json?["nodes"]?.arrayValue ?? []
            let file = nodes.first { $0["node-name"] == "front" }?["file"]?.stringValue ?? ""
            return file.contains("dst.qcow2") ? "dst" : file.contains("src.qcow2") ? "src" : file
        }

        func backup(_ gate: JobgateInstance, _ id: String, _ extra: String = "") async throws {
            try await gate.createJob(
                #"{"type":"backup","id":"\#(id)","device":"src","target":"dst","sync":"full","speed":1048576\#(extra)}"#
            )
            try await gate.waitForJob(id, status: ["running"])
        }

        @Test("#1 mirror, defaults: refusals in running and ready, pause/resume in ready, complete pivots")
        func mirrorDefaults() async throws {
            try await JobgateInstance.with(arguments: Self.withFilter) { gate in
                try await attachWithFront(gate)
                try await gate.createJob(
                    #"{"type":"mirror","id":"m0","device":"front","replaces":"src","target":"dst","sync":"full","speed":65536}"#
                )
                try await gate.waitForJob("m0", status: ["running"])
                for verb in ["complete", "finalize", "dismiss"] {
                    try await Scenario.expectVerbRefused(gate, "m0", verb, in: "running")
                }
                try await gate.verb("m0", "set-speed", #"{"speed":0}"#)
                try await gate.waitForJob("m0", status: ["ready"])
                try await gate.verb("m0", "pause")
                try await gate.waitForJob("m0", status: ["standby"])
                try await Scenario.holdRequestedPause()
                try await gate.verb("m0", "resume")
                try await gate.waitForJob("m0", status: ["ready"])
                for verb in ["finalize", "dismiss"] {
                    try await Scenario.expectVerbRefused(gate, "m0", verb, in: "ready")
                }
                try await gate.verb("m0", "complete")
                let done = try await gate.waitForJob("m0", status: ["null"])
                #expect(
                    Scenario.statuses(done)
                        == [
                            "created", "running", "ready", "standby", "ready", "waiting", "pending", "concluded",
                            "null",
                        ])
                #expect(try await frontImage(gate) == "dst", "complete did not pivot")
            }
        }

        @Test("#10 mirror soft cancel in ready: completes without pivot; #11 force cancel in ready aborts")
        func mirrorCancelInReady() async throws {
            try await JobgateInstance.with(arguments: Self.withFilter) { gate in
                try await attachWithFront(gate)
                try await gate.createJob(
                    #"{"type":"mirror","id":"soft","device":"front","replaces":"src","target":"dst","sync":"full","auto-dismiss":false}"#
                )
                try await gate.waitForJob("soft", status: ["ready"])
                try await gate.verb("soft", "cancel", #"{"force":false}"#)
                let soft = try await gate.waitForJob("soft", status: ["concluded"])
                #expect(soft["error"] == nil)
                #expect(Scenario.statuses(soft) == ["created", "running", "ready", "waiting", "pending", "concluded"])
                #expect(try await frontImage(gate) == "src", "a soft cancel pivoted")
                try await gate.verb("soft", "dismiss")

                try await gate.createJob(
                    #"{"type":"mirror","id":"hard","device":"front","replaces":"src","target":"dst","sync":"full","auto-dismiss":false}"#
                )
                try await gate.waitForJob("hard", status: ["ready"])
                try await gate.verb("hard", "cancel")
                let hard = try await gate.waitForJob("hard", status: ["concluded"])
                #expect(hard["error"] == "Operation canceled")
                #expect(Scenario.statuses(hard) == ["created", "running", "ready", "aborting", "concluded"])
                try await Scenario.expectVerbRefused(gate, "hard", "cancel", in: "concluded")
                try await Scenario.expectEngineRefused(gate, "hard", "resume", "Can't resume a job that was not paused")
                try await gate.verb("hard", "dismiss")
                #expect(Scenario.statuses(try await gate.job("hard")).last == "null")
                #expect(try await frontImage(gate) == "src")
            }
        }

        @Test("#12 mirror soft cancel while running is a force cancel; #19 force cancel in standby")
        func mirrorCancelOtherStates() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "32M")
                try await gate.createJob(
                    #"{"type":"mirror","id":"r0","device":"src","target":"dst","sync":"full","speed":65536}"#)
                try await gate.waitForJob("r0", status: ["running"])
                try await gate.verb("r0", "cancel", #"{"force":false}"#)
                let running = try await gate.waitForJob("r0", status: ["null"])
                #expect(running["error"] == "Operation canceled")
                #expect(Scenario.statuses(running) == ["created", "running", "aborting", "concluded", "null"])

                try await gate.createJob(#"{"type":"mirror","id":"s0","device":"src","target":"dst","sync":"full"}"#)
                try await gate.waitForJob("s0", status: ["ready"])
                try await gate.verb("s0", "pause")
                try await gate.waitForJob("s0", status: ["standby"])
                try await Scenario.holdRequestedPause()
                try await gate.verb("s0", "cancel", #"{"force":true}"#)
                let standby = try await gate.waitForJob("s0", status: ["null"])
                #expect(
                    Scenario.statuses(standby) == [
                        "created", "running", "ready", "standby", "ready", "aborting", "concluded", "null",
                    ])
            }
        }

        @Test("#13 mirror complete in standby takes effect on resume")
        func mirrorCompleteInStandby() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "8M")
                try await gate.createJob(#"{"type":"mirror","id":"m1","device":"src","target":"dst","sync":"full"}"#)
                try await gate.waitForJob("m1", status: ["ready"])
                try await gate.verb("m1", "pause")
                let standby = try await gate.waitForJob("m1", status: ["standby"])
                #expect(standby["paused"] == true && standby["ready"] == true)
                for verb in ["finalize", "dismiss"] {
                    try await Scenario.expectVerbRefused(gate, "m1", verb, in: "standby")
                }
                try await gate.verb("m1", "complete")
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await gate.job("m1")["status"] == "standby")
                try await gate.verb("m1", "resume")
                let done = try await gate.waitForJob("m1", status: ["null"])
                #expect(
                    Scenario.statuses(done)
                        == [
                            "created", "running", "ready", "standby", "ready", "waiting", "pending", "concluded",
                            "null",
                        ])
            }
        }

        @Test("#2 backup pause/resume rounds; #14 double pause and double resume")
        func backupPauseResume() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "32M")
                try await backup(gate, "b0")
                try await gate.verb("b0", "pause")
                try await gate.waitForJob("b0", status: ["paused"])
                try await Scenario.holdRequestedPause()
                try await Scenario.expectEngineRefused(gate, "b0", "pause", "Job is already paused")
                try await gate.verb("b0", "resume")
                try await gate.waitForJob("b0", status: ["running"])
                try await Scenario.expectEngineRefused(gate, "b0", "resume", "Can't resume a job that was not paused")
                try await gate.verb("b0", "set-speed", #"{"speed":0}"#)
                let done = try await gate.waitForJob("b0", status: ["null"])
                #expect(
                    Scenario.statuses(done)
                        == ["created", "running", "paused", "running", "waiting", "pending", "concluded", "null"])
            }
        }

        @Test("#3 #4 #5 backup with auto-finalize / auto-dismiss off: refusals, finalize, dismiss")
        func backupManualSteps() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "4M")
                // #3: auto-dismiss off.
                try await backup(gate, "d0", #","auto-dismiss":false"#)
                try await gate.verb("d0", "set-speed", #"{"speed":0}"#)
                let concluded = try await gate.waitForJob("d0", status: ["concluded"])
                #expect(concluded["current-progress"] == concluded["total-progress"])
                for verb in ["pause", "complete", "finalize", "set-speed"] {
                    try await Scenario.expectVerbRefused(
                        gate, "d0", verb, in: "concluded", body: verb == "set-speed" ? #"{"speed":1}"# : nil)
                }
                try await gate.verb("d0", "dismiss")
                #expect(
                    Scenario.statuses(try await gate.job("d0")) == [
                        "created", "running", "waiting", "pending", "concluded", "null",
                    ])

                // #4: auto-finalize off.
                try await backup(gate, "f0", #","auto-finalize":false"#)
                try await gate.verb("f0", "set-speed", #"{"speed":0}"#)
                try await gate.waitForJob("f0", status: ["pending"])
                for verb in ["pause", "complete", "dismiss"] {
                    try await Scenario.expectVerbRefused(gate, "f0", verb, in: "pending")
                }
                try await gate.verb("f0", "finalize")
                let finalized = try await gate.waitForJob("f0", status: ["null"])
                #expect(
                    Scenario.statuses(finalized) == ["created", "running", "waiting", "pending", "concluded", "null"])

                // #5: both off.
                try await backup(gate, "n0", #","auto-finalize":false,"auto-dismiss":false"#)
                try await gate.verb("n0", "set-speed", #"{"speed":0}"#)
                try await gate.waitForJob("n0", status: ["pending"])
                try await gate.verb("n0", "finalize")
                try await gate.waitForJob("n0", status: ["concluded"])
                try await gate.verb("n0", "dismiss")
                #expect(
                    Scenario.statuses(try await gate.job("n0")) == [
                        "created", "running", "waiting", "pending", "concluded", "null",
                    ])
            }
        }

        @Test("#17 #18 soft cancel of a user-paused job is refused; force cancel resumes and aborts it")
        func cancelPausedJob() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "32M")
                try await backup(gate, "c0")
                try await gate.verb("c0", "pause")
                try await gate.waitForJob("c0", status: ["paused"])
                try await Scenario.holdRequestedPause()
                try await Scenario.expectEngineRefused(
                    gate, "c0", "cancel", "The block job for device 'c0' is currently paused", body: #"{"force":false}"#
                )
                try await gate.verb("c0", "cancel", #"{"force":true}"#)
                let done = try await gate.waitForJob("c0", status: ["null"])
                #expect(done["error"] == "Operation canceled")
                #expect(
                    Scenario.statuses(done) == [
                        "created", "running", "paused", "running", "aborting", "concluded", "null",
                    ])
            }
        }
    }
}
