import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// Block-job error policies with a blkdebug node injecting write errors (QEMU's BlockdevOnError in blockjob.c `block_job_error_action`).
    @Suite struct ErrorPolicyTests {
        /// A raw image behind blkdebug whose writes fail with EIO (every time, or once), attached as `name`.
        func attachFailingTarget(_ gate: JobgateInstance, _ name: String, once: Bool) async throws {
            try await QemuTools.img("create", "-f", "raw", gate.imageRoot + "/\(name).raw", "16M")
            let node = try await gate.http.post(
                "/nodes",
                #"{"node-name":"\#(name)","driver":"raw","file":{"driver":"blkdebug","inject-error":[{"event":"write_aio","errno":5,"once":\#(once)}],"image":{"driver":"file","filename":"\#(name).raw"}}}"#
            )
            try #require(node.status == 201, "\(node.text)")
        }

        @Test(
            "on-target-error report fails the job with QEMU's text; stop pauses it with io-status failed until resume")
        func writeErrors() async throws {
            let arguments = ["--stop-engine-on-exit", "--allow-drivers", "file,qcow2,raw,blkdebug"]
            try await JobgateInstance.with(arguments: arguments) { gate in
                try await QemuTools.makeImage(gate.imageRoot + "/src.qcow2", size: "16M", filled: "4M")
                try await gate.addQcow2Node("src", file: "src.qcow2")
                try await attachFailingTarget(gate, "always", once: false)
                try await attachFailingTarget(gate, "once", once: true)

                try await gate.createJob(
                    #"{"type":"backup","id":"rep","device":"src","target":"always","sync":"full","on-target-error":"report"}"#
                )
                let failed = try await gate.waitForJob("rep", status: ["null"])
                #expect(failed["error"] == "Input/output error", "\(failed)")
                #expect(failed["last-io-error"]?["operation"] == "write")
                #expect(failed["last-io-error"]?["action"] == "report")
                #expect(Scenario.statuses(failed) == ["created", "running", "aborting", "concluded", "null"])

                try await gate.createJob(
                    #"{"type":"backup","id":"stp","device":"src","target":"once","sync":"full","on-target-error":"stop","auto-dismiss":false}"#
                )
                let stopped = try await gate.waitForJob("stp", status: ["paused"])
                #expect(stopped["io-status"] == "failed", "\(stopped)")
                #expect(stopped["last-io-error"]?["action"] == "stop")
                #expect(stopped["paused"] == true)
                try await Scenario.expectVerbRefused(gate, "stp", "dismiss", in: "paused")
                try await Scenario.expectEngineRefused(gate, "stp", "pause", "Job is already paused")
                try await Scenario.holdRequestedPause()
                #expect(try await gate.job("stp")["status"] == "paused", "a stopped job must wait for resume")

                try await gate.verb("stp", "resume")
                let done = try await gate.waitForJob("stp", status: ["concluded"])
                #expect(done["error"] == nil, "\(done)")
                #expect(done["io-status"] == "ok")
                #expect(
                    Scenario.statuses(done) == [
                        "created", "running", "paused", "running", "waiting", "pending", "concluded",
                    ])
            }
        }
    }
}
