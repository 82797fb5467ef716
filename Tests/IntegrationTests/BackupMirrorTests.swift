import Foundation
import JobModel
import TestSupport
import Testing

extension Integration {
    /// The walking skeleton end to end: real jobgate, real QEMU engine, bytes checked on disk.
    @Suite struct BackupMirrorTests {
        @Test("backup: running, paused with progress frozen, resumed, sped up, concluded, copy identical")
        func backupLifecycle() async throws {
            try await JobgateInstance.with { gate in
                let source = gate.imageRoot + "/src.qcow2"
                let target = gate.imageRoot + "/dst.qcow2"
                try await gate.attachSourceAndTarget(filled: "48M")

                let created = try await gate.http.post(
                    "/jobs", #"{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full","speed":1048576}"#
                )
                #expect(created.status == 201, "\(created.text)")
                #expect(created.header("Location") == "/jobs/b0")
                #expect(created.json?["type"] == "backup")

                let running = try await gate.waitForJob("b0", status: ["running"])
                #expect(running["total-progress"]?.intValue == 64 << 20)
                #expect(running["allowed-verbs"] == ["cancel", "pause", "resume", "set-speed", "change"])

                try await gate.verb("b0", "pause")
                let paused = try await gate.waitForJob("b0", status: ["paused"])
                let frozen = try #require(paused["current-progress"]?.intValue)
                try await Task.sleep(for: .milliseconds(1500))
                let stillPaused = try await gate.job("b0")
                #expect(stillPaused["status"] == "paused")
                #expect(stillPaused["current-progress"]?.intValue == frozen, "progress moved while paused")

                try await gate.verb("b0", "resume")
                try await gate.waitForJob("b0", status: ["running"])
                let moved = try await eventually(timeout: .seconds(20)) {
                    try await gate.job("b0")["current-progress"]?.intValue ?? 0 > frozen
                }
                #expect(moved, "progress did not advance after resume")

                try await gate.verb("b0", "set-speed", #"{"speed":0}"#)
                let done = try await gate.waitForJob("b0", status: ["null"])
                let history = done["status-history"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
                #expect(Array(history.suffix(4)) == ["waiting", "pending", "concluded", "null"], "\(history)")
                #expect(done["error"] == nil)
                #expect(done["current-progress"] == done["total-progress"])

                try await gate.deleteNode("src")
                try await gate.deleteNode("dst")
                let comparison = try await QemuTools.compare(source, target)
                #expect(comparison.identical, "\(comparison.output)")
            }
        }

        @Test("mirror: ready, paused to standby, resumed, completed, copy identical")
        func mirrorLifecycle() async throws {
            try await JobgateInstance.with { gate in
                let source = gate.imageRoot + "/src.qcow2"
                let target = gate.imageRoot + "/dst.qcow2"
                try await gate.attachSourceAndTarget(filled: "40M", pattern: "0x3c")

                let created = try await gate.http.post(
                    "/jobs", #"{"type":"mirror","id":"m0","device":"src","target":"dst","sync":"full"}"#)
                #expect(created.status == 201, "\(created.text)")

                let ready = try await gate.waitForJob("m0", status: ["ready"])
                #expect(ready["allowed-verbs"] == ["cancel", "pause", "resume", "set-speed", "complete", "change"])

                let refused = try await gate.http.post("/jobs/m0/finalize")
                #expect(refused.status == 409)
                #expect(refused.json?["detail"] == "Job 'm0' in state 'ready' cannot accept command verb 'finalize'")

                try await gate.verb("m0", "pause")
                let standby = try await gate.waitForJob("m0", status: ["standby"])
                #expect(standby["allowed-verbs"] == ["cancel", "pause", "resume", "set-speed", "complete", "change"])
                try await gate.verb("m0", "resume")
                try await gate.waitForJob("m0", status: ["ready"])
                try await gate.verb("m0", "complete")
                let done = try await gate.waitForJob("m0", status: ["null"])
                let history = done["status-history"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
                #expect(history.contains("standby"))
                #expect(Array(history.suffix(5)) == ["ready", "waiting", "pending", "concluded", "null"], "\(history)")
                #expect(done["error"] == nil)

                try await gate.deleteNode("src")
                try await gate.deleteNode("dst")
                let comparison = try await QemuTools.compare(source, target)
                #expect(comparison.identical, "\(comparison.output)")
            }
        }
    }
}
