import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// The engine's life: restarted when it dies, qemu-storage-daemon as the engine, an external QEMU left alone,
    /// and a clean exit on SIGTERM.
    @Suite struct EngineTests {
        @Test("a dead engine is replaced; its live job becomes a concluded record saying why")
        func engineDeath() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "16M")
                try await gate.createJob(
                    #"{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full","speed":65536}"#)
                try await gate.waitForJob("b0", status: ["running"])
                let first = try #require(gate.enginePID)

                kill(first, SIGKILL)
                let replaced = try await eventually(timeout: .seconds(30)) {
                    try await gate.http.get("/readyz").status == 200 && gate.enginePID != nil && gate.enginePID != first
                }
                #expect(replaced, "no new engine after the old one died:\n\(gate.process.output)")

                let record = try await gate.waitForJob("b0", status: ["concluded"])
                let error = record["error"]?.stringValue ?? ""
                #expect(error.contains("QEMU engine exited"), "\(error)")
                #expect(record["allowed-verbs"] == ["dismiss"])
                try await gate.verb("b0", "dismiss")
                #expect(try await gate.job("b0")["status"] == "null")

                // The new engine works.
                #expect(try await gate.http.get("/nodes").status == 200)
            }
        }

        @Test("qemu-storage-daemon as the engine runs a backup that qemu-img confirms")
        func storageDaemonEngine() async throws {
            try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--engine", "qsd"]) { gate in
                let ready = try await gate.http.get("/readyz")
                #expect(ready.json?["qemu"]?["version"]?.stringValue?.isEmpty == false)
                let engine = try #require(gate.enginePID)
                let command = (try? String(contentsOfFile: "/proc/\(engine)/cmdline", encoding: .utf8)) ?? ""
                #expect(command.contains("qemu-storage-daemon"), "\(command)")

                try await gate.attachSourceAndTarget(filled: "8M", pattern: "0x11")
                try await gate.createJob(#"{"type":"backup","id":"q0","device":"src","target":"dst","sync":"full"}"#)
                try await gate.waitForJob("q0", status: ["null"])
                try await gate.deleteNode("src")
                try await gate.deleteNode("dst")
                let comparison = try await QemuTools.compare(
                    gate.imageRoot + "/src.qcow2", gate.imageRoot + "/dst.qcow2")
                #expect(comparison.identical, "\(comparison.output)")
            }
        }

        /// A qemu-storage-daemon with its monitor on `vm.sock` in `directory`, as a VM's QEMU offers one.
        static func startStorageDaemon(in directory: String) async throws -> (ChildProcess, String) {
            let socket = directory + "/vm.sock"
            let qsd = try ChildProcess(
                try QemuTools.tool("qemu-storage-daemon"),
                ["--chardev", "socket,id=m0,path=\(socket),server=on,wait=off", "--monitor", "chardev=m0"],
                outputPath: directory + "/qsd.out")
            let up = await eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: socket) }
            try #require(up, "qemu-storage-daemon did not open its monitor: \(qsd.output)")
            return (qsd, socket)
        }

        @Test("--qmp-socket attaches to an existing QEMU and never stops it; SIGTERM exits cleanly")
        func externalEngine() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let (qsd, socket) = try await Self.startStorageDaemon(in: directory)
            defer {
                qsd.signal(SIGKILL)
                try? FileManager.default.removeItem(atPath: directory)
            }
            let gate = try await JobgateInstance.start(
                dataDirectory: directory, arguments: ["--qmp-socket", socket, "--stop-engine-on-exit"])
            let ready = try await gate.http.get("/readyz")
            #expect(ready.status == 200)
            #expect(
                !FileManager.default.fileExists(atPath: directory + "/engine.pid"),
                "jobgate started an engine of its own")

            let status = await gate.stop()
            #expect(status == 0, "jobgate did not exit cleanly on SIGTERM:\n\(gate.process.output)")
            #expect(kill(qsd.pid, 0) == 0, "jobgate stopped a QEMU it does not own")
        }

        @Test("GET /engines: local, ready with QEMU's version, its socket, its jobs; 404 for another name")
        func engineList() async throws {
            try await JobgateInstance.with { gate in
                let ready = try await gate.http.get("/readyz").json
                let list = try #require(try await gate.http.get("/engines").json?["engines"]?.arrayValue)
                try #require(list.count == 1, "\(list)")
                let local = list[0]
                #expect(local["name"] == "local" && local["owned"] == true && local["state"] == "ready", "\(local)")
                #expect(local["qmp-socket"]?.stringValue?.hasSuffix("/qmp.sock") == true, "\(local)")
                #expect(local["qemu"]?["version"] == ready?["qemu"]?["version"], "\(local) vs \(ready ?? .null)")
                #expect(local["since"]?.stringValue != nil && local["jobs"]?["live"] == 0, "\(local)")
                for name in ["e-s", "e-t"] {
                    let node = try await gate.http.post(
                        "/nodes", #"{"node-name":"\#(name)","driver":"null-co","size":1073741824}"#)
                    try #require(node.status == 201, "\(node.text)")
                }
                _ = try await gate.createJob(
                    #"{"type":"backup","id":"e0","device":"e-s","target":"e-t","sync":"full","speed":1048576}"#)
                let counted = try await eventually(timeout: .seconds(5)) {
                    try await gate.http.get("/engines/local").json?["jobs"]?["live"] == 1
                }
                let counts = try await gate.http.get("/engines/local").text
                #expect(counted, "\(counts)")
                let unknown = try await gate.http.get("/engines/vm9")
                #expect(unknown.status == 404 && unknown.json?["type"] == "urn:jobgate:problem:unknown-engine")
                #expect(unknown.json?["detail"]?.stringValue?.contains("local") == true, "\(unknown.text)")
            }
        }

        @Test("GET /engines with --qmp-socket: not owned, its socket; connecting, with the reason, once QEMU is gone")
        func attachedEngineReport() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let (qsd, socket) = try await Self.startStorageDaemon(in: directory)
            defer { qsd.signal(SIGKILL) }
            try await JobgateInstance.with(
                dataDirectory: directory, arguments: ["--qmp-socket", socket, "--stop-engine-on-exit"]
            ) { gate in
                let attached = try #require(try await gate.http.get("/engines/local").json)
                #expect(
                    attached["owned"] == false && attached["qmp-socket"] == .string(socket)
                        && attached["state"] == "ready", "\(attached)")
                qsd.signal(SIGKILL)
                let away = try await eventually(timeout: .seconds(10)) {
                    try await gate.http.get("/engines/local").json?["state"] == "connecting"
                }
                let report = try await gate.http.get("/engines/local").json ?? .null
                #expect(away && report["problem"]?.stringValue != nil && report["qemu"] != .null, "\(report)")
            }
        }
    }
}
