import Foundation
import JSON
import JobModel
import TestSupport
import Testing

extension Integration {
    /// The job types that make or reshape images: create, stream, commit, snapshots. Results checked on disk.
    @Suite struct ImageJobTests {
        /// Runs a non-block job (manual dismiss) to `concluded`, checks it succeeded, and dismisses it.
        func runToConclusion(_ gate: JobgateInstance, _ body: String, id: String) async throws {
            try await gate.createJob(body)
            let record = try await gate.waitForJob(id, status: ["concluded"])
            #expect(record["error"] == nil, "\(id) failed: \(record)")
            #expect(record["allowed-verbs"] == ["dismiss"])
            try await gate.verb(id, "dismiss")
            #expect(try await gate.job(id)["status"] == "null")
        }

        @Test("create: a file, then a qcow2 format on it, of the requested size")
        func create() async throws {
            try await JobgateInstance.with { gate in
                try await runToConclusion(
                    gate, #"{"type":"create","id":"c1","options":{"driver":"file","filename":"made.qcow2","size":0}}"#,
                    id: "c1")
                let file = try await gate.http.post(
                    "/nodes", #"{"node-name":"madefile","driver":"file","filename":"made.qcow2"}"#)
                try #require(file.status == 201, "\(file.text)")
                try await runToConclusion(
                    gate,
                    #"{"type":"create","id":"c2","options":{"driver":"qcow2","file":"madefile","size":134217728,"cluster-size":65536}}"#,
                    id: "c2")
                try await gate.deleteNode("madefile")
                let info = try JSONValue.parse(
                    Data(try await QemuTools.img("info", "--output=json", gate.imageRoot + "/made.qcow2").utf8))
                #expect(info["format"] == "qcow2")
                #expect(info["virtual-size"] == .int(134_217_728))
                #expect(info["cluster-size"] == .int(65536))

                let outside = try await gate.http.post(
                    "/jobs",
                    #"{"type":"create","id":"c3","options":{"driver":"file","filename":"/tmp/evil.img","size":0}}"#)
                #expect(outside.status == 403)
                #expect(outside.json?["field"] == "options.filename")
                #expect(!FileManager.default.fileExists(atPath: "/tmp/evil.img"))
            }
        }

        /// base.qcow2 (A at 0-1M) <- mid.qcow2 (B at 1M-2M) <- top.qcow2 (C at 2M-3M), and ref.raw, the chain's
        /// content flattened before any job runs.
        func makeChain(_ gate: JobgateInstance) async throws -> (
            base: String, mid: String, top: String, reference: String
        ) {
            let root = gate.imageRoot
            try await QemuTools.img("create", "-f", "qcow2", root + "/base.qcow2", "8M")
            try await QemuTools.io(root + "/base.qcow2", "write -P 0xa1 0 1M")
            try await QemuTools.img("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", root + "/mid.qcow2")
            try await QemuTools.io(root + "/mid.qcow2", "write -P 0xb2 1M 1M")
            try await QemuTools.img("create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", root + "/top.qcow2")
            try await QemuTools.io(root + "/top.qcow2", "write -P 0xc3 2M 1M")
            try await QemuTools.img("convert", "-O", "raw", root + "/top.qcow2", root + "/ref.raw")
            return (root + "/base.qcow2", root + "/mid.qcow2", root + "/top.qcow2", root + "/ref.raw")
        }

        /// Attaches the chain as named nodes base <- mid <- top.
        func attachChain(_ gate: JobgateInstance) async throws {
            for (name, backing) in [("base", "null"), ("mid", #""base""#), ("top", #""mid""#)] {
                let answer = try await gate.http.post(
                    "/nodes",
                    #"{"node-name":"\#(name)","driver":"qcow2","backing":\#(backing),"file":{"driver":"file","filename":"\#(name).qcow2"}}"#
                )
                try #require(answer.status == 201, "\(name): \(answer.text)")
            }
        }

        /// The backing file name in `image`'s header (read with -U: the image may be attached).
        func backingFile(of image: String) async throws -> String? {
            try JSONValue.parse(Data(try await QemuTools.img("info", "-U", "--output=json", image).utf8))[
                "backing-filename"]?
                .stringValue
        }

        /// `path` with symlinks resolved, as jobgate writes it.
        func real(_ path: String) -> String {
            realpath(path, nil).map { pointer in
                defer { free(pointer) }
                return String(cString: pointer)
            } ?? path
        }

        @Test("stream to a base: top's header names the base by its real path, never /dev/fdset")
        func streamToBase() async throws {
            try await JobgateInstance.with { gate in
                let chain = try await makeChain(gate)
                try await attachChain(gate)
                try await gate.createJob(#"{"type":"stream","id":"s0","device":"top","base-node":"base"}"#)
                let done = try await gate.waitForJob("s0", status: ["null"])
                #expect(done["error"] == nil)
                #expect(try await backingFile(of: chain.top) == real(chain.base))
                try await gate.deleteNode("top")
                try await gate.deleteNode("mid")
                try await gate.deleteNode("base")
                let comparison = try await QemuTools.compare(chain.top, chain.reference)
                #expect(comparison.identical, "\(comparison.output)")
            }
        }

        @Test("stream: top keeps its content and loses its backing file")
        func stream() async throws {
            try await JobgateInstance.with { gate in
                let chain = try await makeChain(gate)
                // Attached without explicit backing: jobgate checks the chain in the headers, QEMU opens it.
                try await gate.addQcow2Node("top", file: "top.qcow2")
                try await gate.createJob(#"{"type":"stream","id":"s0","device":"top"}"#)
                let done = try await gate.waitForJob("s0", status: ["null"])
                #expect(done["error"] == nil)
                try await gate.deleteNode("top")
                #expect(try await backingFile(of: chain.top) == nil)
                let comparison = try await QemuTools.compare(chain.top, chain.reference)
                #expect(comparison.identical, "\(comparison.output)")

                let escape = try await gate.http.post(
                    "/jobs", #"{"type":"stream","id":"s1","device":"x","backing-file":"../../etc/passwd"}"#)
                #expect(escape.status == 403)
            }
        }

        @Test("commit: non-active (mid into base), then active (top into base: ready, complete)")
        func commit() async throws {
            try await JobgateInstance.with { gate in
                let chain = try await makeChain(gate)
                try await attachChain(gate)

                try await gate.createJob(
                    #"{"type":"commit","id":"k0","device":"top","top-node":"mid","base-node":"base"}"#)
                let nonActive = try await gate.waitForJob("k0", status: ["null"])
                // QEMU's iotest 095: a non-active commit never goes ready.
                #expect(
                    Scenario.statuses(nonActive) == ["created", "running", "waiting", "pending", "concluded", "null"])
                #expect(nonActive["error"] == nil)
                // QEMU wrote top's new backing file name: the base's real path, not its descriptor's name.
                #expect(try await backingFile(of: chain.top) == real(chain.base))

                try await gate.createJob(#"{"type":"commit","id":"k1","device":"top"}"#)
                try await gate.waitForJob("k1", status: ["ready"])
                try await gate.verb("k1", "complete")
                let active = try await gate.waitForJob("k1", status: ["null"])
                #expect(active["error"] == nil)

                try await gate.deleteNode("top")
                try await gate.deleteNode("mid")
                try await gate.deleteNode("base")
                let comparison = try await QemuTools.compare(chain.base, chain.reference)
                #expect(comparison.identical, "base after both commits: \(comparison.output)")
            }
        }

        @Test("snapshot-save, -load and -delete across two qcow2 images")
        func snapshots() async throws {
            try await JobgateInstance.with { gate in
                let root = gate.imageRoot
                try await QemuTools.makeImage(root + "/disk0.qcow2", size: "16M", filled: "1M", pattern: "0x11")
                try await QemuTools.makeImage(root + "/disk1.qcow2", size: "16M", filled: "1M", pattern: "0x22")
                try await gate.addQcow2Node("disk0", file: "disk0.qcow2")
                try await gate.addQcow2Node("disk1", file: "disk1.qcow2")

                try await runToConclusion(
                    gate,
                    #"{"type":"snapshot-save","id":"ss","tag":"snap1","vmstate":"disk0","devices":["disk0","disk1"]}"#,
                    id: "ss")
                // New data after the snapshot, written through QEMU (the images are open there).
                try await gate.deleteNode("disk0")
                try await gate.deleteNode("disk1")
                for image in ["disk0", "disk1"] {
                    let listing = try await QemuTools.img("snapshot", "-l", root + "/\(image).qcow2")
                    #expect(listing.contains("snap1"), "\(image): \(listing)")
                    try await QemuTools.io(root + "/\(image).qcow2", "write -P 0x99 0 1M")
                }
                try await gate.addQcow2Node("disk0", file: "disk0.qcow2")
                try await gate.addQcow2Node("disk1", file: "disk1.qcow2")

                try await runToConclusion(
                    gate,
                    #"{"type":"snapshot-load","id":"sl","tag":"snap1","vmstate":"disk0","devices":["disk0","disk1"]}"#,
                    id: "sl")
                try await runToConclusion(
                    gate, #"{"type":"snapshot-delete","id":"sd","tag":"snap1","devices":["disk0","disk1"]}"#, id: "sd")
                try await gate.deleteNode("disk0")
                try await gate.deleteNode("disk1")
                for (image, pattern) in [("disk0", "0x11"), ("disk1", "0x22")] {
                    let listing = try await QemuTools.img("snapshot", "-l", root + "/\(image).qcow2")
                    #expect(!listing.contains("snap1"), "\(image): \(listing)")
                    try await QemuTools.io(root + "/\(image).qcow2", "read -P \(pattern) 0 1M")
                }
            }
        }
    }
}
