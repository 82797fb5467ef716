import Foundation
import JSON
import JobModel
import TestSupport
import Testing

extension Integration {
    /// `POST /transactions` against a real engine: atomicity, completion modes, incremental backup, the 7.2 hang.
    @Suite struct TransactionTests {
        static let withBlkdebug = ["--stop-engine-on-exit", "--allow-drivers", "file,qcow2,raw,null-co,blkdebug"]

        /// A raw image with data that every read of fails (blkdebug injects EIO), attached as node `bad`.
        func attachFailingSource(_ gate: JobgateInstance, size: String = "16M") async throws {
            try await QemuTools.img("create", "-f", "raw", gate.imageRoot + "/bad.raw", size)
            let (status, output) = try await ChildProcess.run(
                try QemuTools.tool("qemu-io"), ["-f", "raw", "-c", "write -P 0x42 0 4M", gate.imageRoot + "/bad.raw"])
            try #require(status == 0, "\(output)")
            let node = try await gate.http.post(
                "/nodes",
                #"{"node-name":"bad","driver":"raw","file":{"driver":"blkdebug","inject-error":[{"event":"read_aio","errno":5}],"image":{"driver":"file","filename":"bad.raw"}}}"#
            )
            try #require(node.status == 201, "\(node.text)")
        }

        @Test("backup sync full, top, and incremental with a bitmap made by a transaction action")
        func backupSyncModes() async throws {
            try await JobgateInstance.with { gate in
                let root = gate.imageRoot
                try await QemuTools.makeImage(root + "/src.qcow2", size: "16M", filled: "4M", pattern: "0x31")
                try await QemuTools.makeImage(root + "/full.qcow2", size: "16M")
                try await gate.addQcow2Node("src", file: "src.qcow2")
                try await gate.addQcow2Node("full", file: "full.qcow2")

                // A persistent bitmap and a full backup, atomically.
                let applied = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"block-dirty-bitmap-add","data":{"node":"src","name":"bm0","persistent":true}},{"type":"blockdev-backup","data":{"job-id":"f0","device":"src","target":"full","sync":"full"}}]}"#
                )
                #expect(applied.status == 201, "\(applied.text)")
                #expect(applied.json?["jobs"]?.arrayValue?.first?["id"] == "f0")
                try await gate.waitForJob("f0", status: ["null"])
                try await gate.deleteNode("src")
                try await gate.deleteNode("full")
                #expect(try await QemuTools.compare(root + "/src.qcow2", root + "/full.qcow2").identical)

                // New data after the full backup (the persistent bitmap records it), then an incremental backup
                // into an overlay of the full one: the chain equals the source, and only the new 64 KiB moved.
                try await QemuTools.io(root + "/src.qcow2", "write -P 0x77 1M 64k")
                try await QemuTools.img("create", "-f", "qcow2", "-b", "full.qcow2", "-F", "qcow2", root + "/inc.qcow2")
                try await gate.addQcow2Node("src", file: "src.qcow2")
                try await gate.addQcow2Node("inc", file: "inc.qcow2")
                try await gate.createJob(
                    #"{"type":"backup","id":"i0","device":"src","target":"inc","sync":"incremental","bitmap":"bm0","auto-dismiss":false}"#
                )
                let incremental = try await gate.waitForJob("i0", status: ["concluded"])
                #expect(incremental["error"] == nil)
                #expect(incremental["total-progress"] == .int(65536), "\(incremental)")

                // sync top: only the top layer of src's chain, into a target that shares its backing.
                try await QemuTools.img(
                    "create", "-f", "qcow2", "-b", "src.qcow2", "-F", "qcow2", root + "/layer.qcow2")
                try await gate.deleteNode("src")
                try await QemuTools.io(root + "/layer.qcow2", "write -P 0x55 8M 1M")
                try await QemuTools.img(
                    "create", "-f", "qcow2", "-b", "src.qcow2", "-F", "qcow2", root + "/topcopy.qcow2")
                try await gate.addQcow2Node("layer", file: "layer.qcow2")
                try await gate.addQcow2Node("topcopy", file: "topcopy.qcow2")
                try await gate.createJob(
                    #"{"type":"backup","id":"t0","device":"layer","target":"topcopy","sync":"top"}"#)
                let top = try await gate.waitForJob("t0", status: ["null"])
                #expect(top["error"] == nil)
                for node in ["inc", "layer", "topcopy"] { try await gate.deleteNode(node) }
                #expect(try await QemuTools.compare(root + "/inc.qcow2", root + "/src.qcow2").identical)
                #expect(try await QemuTools.compare(root + "/topcopy.qcow2", root + "/layer.qcow2").identical)
            }
        }

        @Test("grouped: one member fails, the other ends cancelled; individual: the other completes")
        func failureModes() async throws {
            try await JobgateInstance.with(arguments: Self.withBlkdebug) { gate in
                try await QemuTools.makeImage(gate.imageRoot + "/src.qcow2", size: "16M", filled: "8M")
                for name in ["d1", "d2", "d3", "d4"] {
                    try await QemuTools.makeImage(gate.imageRoot + "/\(name).qcow2", size: "16M")
                    try await gate.addQcow2Node(name, file: "\(name).qcow2")
                }
                try await gate.addQcow2Node("src", file: "src.qcow2")
                try await attachFailingSource(gate)

                let grouped = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"g0","device":"src","target":"d1","sync":"full","speed":1048576}},{"type":"blockdev-backup","data":{"job-id":"g1","device":"bad","target":"d2","sync":"full"}}],"properties":{"completion-mode":"grouped"}}"#
                )
                #expect(grouped.status == 201, "\(grouped.text)")
                let failed = try await gate.waitForJob("g1", status: ["null"])
                let cancelled = try await gate.waitForJob("g0", status: ["null"])
                #expect(failed["error"] == "Input/output error", "\(failed)")
                #expect(failed["last-io-error"]?["action"] == "report")
                #expect(cancelled["error"] == "Operation canceled", "\(cancelled)")
                // QEMU (job.c, job_completed_txn_abort): the failing member aborts, and the abort cancels the other.
                #expect(Scenario.statuses(failed) == ["created", "running", "aborting", "concluded", "null"])
                #expect(Scenario.statuses(cancelled) == ["created", "running", "aborting", "concluded", "null"])

                let individual = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"i0","device":"src","target":"d3","sync":"full"}},{"type":"blockdev-backup","data":{"job-id":"i1","device":"bad","target":"d4","sync":"full"}}],"properties":{"completion-mode":"individual"}}"#
                )
                #expect(individual.status == 201, "\(individual.text)")
                let alone = try await gate.waitForJob("i1", status: ["null"])
                let completed = try await gate.waitForJob("i0", status: ["null"])
                #expect(alone["error"] == "Input/output error")
                #expect(completed["error"] == nil, "\(completed)")
                // Without a shared transaction the failing member fails alone; the other completes normally.
                #expect(Scenario.statuses(alone) == ["created", "running", "aborting", "concluded", "null"])
                #expect(
                    Scenario.statuses(completed) == ["created", "running", "waiting", "pending", "concluded", "null"])
                try await gate.deleteNode("src")
                try await gate.deleteNode("d3")
                #expect(
                    try await QemuTools.compare(gate.imageRoot + "/src.qcow2", gate.imageRoot + "/d3.qcow2").identical)
            }
        }

        @Test("grouped with auto-finalize off: both wait in pending, one finalize finalizes both")
        func groupedFinalize() async throws {
            try await JobgateInstance.with { gate in
                for name in ["a", "b", "ta", "tb"] {
                    try await QemuTools.makeImage(
                        gate.imageRoot + "/\(name).qcow2", size: "8M", filled: name.count == 1 ? "2M" : nil)
                    try await gate.addQcow2Node(name, file: "\(name).qcow2")
                }
                let applied = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"p0","device":"a","target":"ta","sync":"full","auto-finalize":false}},{"type":"blockdev-backup","data":{"job-id":"p1","device":"b","target":"tb","sync":"full","auto-finalize":false}}],"properties":{"completion-mode":"grouped"}}"#
                )
                #expect(applied.status == 201, "\(applied.text)")
                let first = try await gate.waitForJob("p0", status: ["pending"])
                try await gate.waitForJob("p1", status: ["pending"])
                #expect(first["allowed-verbs"] == ["cancel", "finalize"])
                try await gate.verb("p1", "finalize")
                for id in ["p0", "p1"] {
                    let record = try await gate.waitForJob(id, status: ["null"])
                    #expect(record["error"] == nil)
                    #expect(Array(Scenario.statuses(record).suffix(3)) == ["pending", "concluded", "null"])
                }
            }
        }

        @Test("drive-backup creates its target through a descriptor; snapshot-sync needs mode existing")
        func fileActions() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "4M")
                let backup = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"drive-backup","data":{"job-id":"d0","device":"src","target":"copy.qcow2","format":"qcow2","sync":"full"}}]}"#
                )
                #expect(backup.status == 201, "\(backup.text)")
                let done = try await gate.waitForJob("d0", status: ["null"])
                #expect(done["error"] == nil, "\(done)")
                #expect(done["request"]?["data"]?["target"]?.stringValue?.hasSuffix("/copy.qcow2") == true, "\(done)")
                try await gate.deleteNode("src")
                let comparison = try await QemuTools.compare(
                    gate.imageRoot + "/src.qcow2", gate.imageRoot + "/copy.qcow2")
                #expect(comparison.identical, "\(comparison.output)")

                let absolute = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-snapshot-sync","data":{"node-name":"dst","snapshot-file":"ov.qcow2","snapshot-node-name":"ov","format":"qcow2"}}]}"#
                )
                #expect(absolute.status == 400, "\(absolute.text)")
                #expect(absolute.json?["field"] == "actions[0].data.mode")
                #expect(!FileManager.default.fileExists(atPath: gate.imageRoot + "/ov.qcow2"))
                let top = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"drive-backup","data":{"job-id":"d1","device":"src","target":"top.qcow2","format":"qcow2","sync":"top"}}]}"#
                )
                #expect(top.status == 400 && top.json?["field"] == "actions[0].data.mode", "\(top.text)")

                try await QemuTools.img(
                    "create", "-f", "qcow2", "-b", "dst.qcow2", "-F", "qcow2", gate.imageRoot + "/ov.qcow2")
                let existing = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-snapshot-sync","data":{"node-name":"dst","snapshot-file":"ov.qcow2","snapshot-node-name":"ov","format":"qcow2","mode":"existing"}}]}"#
                )
                #expect(existing.status == 200, "\(existing.text)")
                // QEMU drops an overlay of a node no device holds once the transaction ends; what is left to check
                // is that it opened the existing image through its descriptor without rewriting it.
                let nodes = try await gate.http.get("/nodes")
                let info = try await QemuTools.img("info", "-U", "--output=json", gate.imageRoot + "/ov.qcow2")
                #expect(try JSONValue.parse(Data(info.utf8))["backing-filename"] == "dst.qcow2")
                #expect(!nodes.text.contains("/dev/fdset"))
            }
        }

        @Test("an abort action refuses it all: QEMU's reason, no node or bitmap left, the rolled-back job recorded")
        func abortRefusesAll() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "4M")
                let nodesBefore = try await gate.http.get("/nodes").json?["nodes"]?.arrayValue?.count
                try await QemuTools.makeImage(gate.imageRoot + "/overlay.qcow2")
                let refused = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"block-dirty-bitmap-add","data":{"node":"src","name":"bmx"}},{"type":"blockdev-snapshot-sync","data":{"node-name":"dst","snapshot-file":"overlay.qcow2","snapshot-node-name":"ov","format":"qcow2","mode":"existing"}},{"type":"blockdev-backup","data":{"job-id":"r0","device":"src","target":"dst","sync":"full"}},{"type":"abort","data":{}}]}"#
                )
                #expect(refused.status == 422, "\(refused.text)")
                #expect(refused.json?["desc"] == "Transaction aborted using Abort action")
                #expect(refused.json?["class"] == "GenericError")
                // QEMU created r0 and rolled it back: its record says so (RefusedJobTests follows its events).
                let record = try await gate.waitForJob("r0", status: ["null"])
                #expect(record["refused"] == true, "\(record)")
                #expect(record["stats"]?["outcome"] == "refused")
                let jobs = try await gate.http.get("/jobs").json?["jobs"]?.arrayValue ?? []
                #expect(jobs.map { $0["id"] } == ["r0"], "\(jobs)")
                let nodes = try await gate.http.get("/nodes").json?["nodes"]?.arrayValue ?? []
                #expect(nodes.count == nodesBefore)
                #expect(!nodes.contains { $0["node-name"] == "ov" })
                let bitmaps = nodes.first { $0["node-name"] == "src" }?["dirty-bitmaps"]?.arrayValue ?? []
                #expect(bitmaps.isEmpty, "\(bitmaps)")

                let groupedOther = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"x0","device":"src","target":"dst","sync":"full"}},{"type":"abort","data":{}}],"properties":{"completion-mode":"grouped"}}"#
                )
                // QEMU 7.2 checks the completion mode in each action's prepare; abort's prepare fails first.
                #expect(groupedOther.status == 422)
                #expect(groupedOther.json?["desc"] == "Transaction aborted using Abort action", "\(groupedOther.text)")
            }
        }

        @Test("enabling a bitmap that does not exist is QEMU's refusal, and QEMU lives (its rollback would crash)")
        func enableMissingBitmap() async throws {
            try await JobgateInstance.with { gate in
                try await gate.attachSourceAndTarget(filled: "1M")
                let enginePID = try String(contentsOfFile: gate.dataDirectory + "/engine.pid", encoding: .utf8)
                for (node, desc) in [("src", "Dirty bitmap 'bm9' not found"), ("nope", "Node 'nope' not found")] {
                    let refused = try await gate.http.post(
                        "/transactions",
                        #"{"actions":[{"type":"block-dirty-bitmap-enable","data":{"node":"\#(node)","name":"bm9"}}]}"#)
                    #expect(refused.status == 422, "\(refused.text)")
                    #expect(refused.json?["desc"] == .string(desc), "\(refused.text)")
                }
                let added = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"block-dirty-bitmap-add","data":{"node":"src","name":"bm9","disabled":true}}]}"#
                )
                #expect(added.status == 200, "\(added.text)")
                let enabled = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"block-dirty-bitmap-enable","data":{"node":"src","name":"bm9"}}]}"#)
                #expect(enabled.status == 200, "\(enabled.text)")
                #expect(try await gate.http.get("/readyz").status == 200)
                let pidAfter = try String(contentsOfFile: gate.dataDirectory + "/engine.pid", encoding: .utf8)
                #expect(pidAfter == enginePID, "the engine was restarted: QEMU crashed")
                let bitmaps =
                    try await gate.http.get("/nodes").json?["nodes"]?.arrayValue?
                    .first { $0["node-name"] == "src" }?["dirty-bitmaps"]?.arrayValue ?? []
                #expect(bitmaps.first?["recording"] == true, "\(bitmaps)")
            }
        }

        @Test("QEMU 7.2's grouped-rollback hang: refused up front, and when unforeseeable, the engine is replaced")
        func groupedHang() async throws {
            try await JobgateInstance.with(arguments: ["--stop-engine-on-exit", "--qmp-timeout", "3"]) { gate in
                for name in ["s1", "s2", "t1", "t2"] {
                    try await QemuTools.makeImage(
                        gate.imageRoot + "/\(name).qcow2", size: "8M", filled: name.hasPrefix("s") ? "1M" : nil)
                    try await gate.addQcow2Node(name, file: "\(name).qcow2")
                }
                // Foreseeable: a missing node after two backup actions.
                let foreseen = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"h0","device":"s1","target":"t1","sync":"full"}},{"type":"blockdev-backup","data":{"job-id":"h1","device":"s2","target":"t2","sync":"full"}},{"type":"blockdev-backup","data":{"job-id":"h2","device":"nonexist","target":"t2","sync":"full"}}],"properties":{"completion-mode":"grouped"}}"#
                )
                #expect(foreseen.status == 422)
                #expect(foreseen.json?["type"] == "urn:jobgate:problem:transaction-refused")
                #expect(try await gate.http.get("/readyz").status == 200)

                // Not foreseeable here: a bitmap that does not exist fails in QEMU's prepare, after two jobs exist.
                let engine = try #require(gate.enginePID)
                let hung = try await gate.http.post(
                    "/transactions",
                    #"{"actions":[{"type":"blockdev-backup","data":{"job-id":"k0","device":"s1","target":"t1","sync":"full","speed":1}},{"type":"blockdev-backup","data":{"job-id":"k1","device":"s2","target":"t2","sync":"full","speed":1}},{"type":"blockdev-backup","data":{"job-id":"k2","device":"s1","target":"t2","sync":"incremental","bitmap":"nope"}}],"properties":{"completion-mode":"grouped"}}"#
                )
                #expect(hung.status == 504 || hung.status == 503, "\(hung.text)")
                #expect(try await gate.http.get("/healthz").status == 200)
                let replaced = try await eventually(timeout: .seconds(30)) {
                    try await gate.http.get("/readyz").status == 200 && gate.enginePID != engine
                }
                #expect(replaced, "the hung engine was not replaced:\n\(gate.process.output)")
                // k0 was created and never started when QEMU stopped answering: its record says what happened.
                let record = try await gate.waitForJob("k0", status: ["concluded"])
                #expect(record["error"]?.stringValue?.contains("stopped answering QMP") == true, "\(record)")
                #expect(try await gate.http.get("/nodes").status == 200)
            }
        }
    }
}
