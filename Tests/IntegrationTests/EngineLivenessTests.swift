import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// A hung engine is noticed within seconds: `/readyz` turns 503, requests that need QEMU fail fast, and once it
    /// has been silent for `--qmp-timeout` it is killed and replaced, its jobs recorded as ended with it.
    @Suite struct EngineLivenessTests {
        @Test("engine SIGSTOP during a backup: /readyz 503 and GET /nodes failing within 5 s, then the replacement")
        func stoppedEngine() async throws {
            try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--qmp-timeout", "8"]) { gate in
                for name in ["s", "t"] {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":67108864}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                try await gate.createJob(
                    #"{"type":"backup","id":"b0","device":"s","target":"t","sync":"full","speed":1048576}"#)
                try await gate.waitForJob("b0", status: ["running"])
                let engine = try #require(gate.enginePID)
                kill(engine, SIGSTOP)
                defer { kill(engine, SIGKILL) }
                let stopped = ContinuousClock.now
                let notReady = try await eventually(timeout: .seconds(5), interval: .milliseconds(100)) {
                    try await gate.http.get("/readyz").status == 503
                }
                #expect(notReady, "/readyz stayed 200 for 5 s with the engine stopped")
                let noticed = ContinuousClock.now - stopped
                let readiness = try await gate.http.get("/readyz").json
                #expect(readiness?["type"] == "urn:jobgate:problem:engine-unavailable", "\(readiness ?? .null)")
                let started = ContinuousClock.now
                let nodes = try await gate.http.get("/nodes")
                #expect(nodes.status == 503, "GET /nodes with the engine stopped: \(nodes.status) \(nodes.text)")
                let failed = ContinuousClock.now - started
                #expect(failed < .seconds(1), "GET /nodes waited for the stopped engine")
                #expect(ContinuousClock.now - stopped < .seconds(6))
                #expect(try await gate.http.get("/healthz").status == 200)
                let engines = try await gate.http.get("/engines/local").json
                #expect(
                    engines?["state"] == "unresponsive" && engines?["owned"] == true, "\(engines ?? .null)")
                // Silent for --qmp-timeout: killed and replaced; the backup ended with it.
                let replaced = try await eventually(timeout: .seconds(30)) {
                    try await gate.http.get("/readyz").status == 200 && gate.enginePID != engine
                }
                #expect(replaced, "the stopped engine was not replaced:\n\(gate.process.output)")
                let record = try await gate.waitForJob("b0", status: ["concluded"])
                #expect(record["error"]?.stringValue?.contains("stopped answering QMP") == true, "\(record)")
                print(
                    "engine SIGSTOP: /readyz 503 after \(noticed), GET /nodes 503 in \(failed), replaced after \(ContinuousClock.now - stopped)"
                )
            }
        }

        @Test("nodes attached before the engine was replaced are attached again; a job between them runs")
        func nodesReattached() async throws {
            try await JobgateInstance.with { gate in
                try await QemuTools.makeImage(gate.imageRoot + "/disk.qcow2", size: "8M", filled: "1M")
                try await gate.addQcow2Node("disk", file: "disk.qcow2")
                for name in ["s", "t"] {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":8388608}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                try await gate.deleteNode("s")
                let engine = try #require(gate.enginePID)
                kill(engine, SIGKILL)
                let replaced = try await eventually(timeout: .seconds(30)) {
                    try await gate.http.get("/readyz").status == 200 && gate.enginePID != engine
                }
                try #require(replaced, "the engine was not replaced:\n\(gate.process.output)")
                var names = Set<String>()
                let back = try await eventually(timeout: .seconds(10)) {
                    let nodes = try await gate.http.get("/nodes").json?["nodes"]?.arrayValue ?? []
                    names = Set(nodes.compactMap { $0["node-name"]?.stringValue })
                    return names.isSuperset(of: ["disk", "t"])
                }
                #expect(back, "nodes after the replacement: \(names.sorted())")
                #expect(!names.contains("s"), "a node detached before the replacement came back")
                try await gate.createJob(#"{"type":"backup","id":"after","device":"disk","target":"t","sync":"full"}"#)
                try await gate.waitForJob("after", status: ["null"])
            }
        }
    }
}
