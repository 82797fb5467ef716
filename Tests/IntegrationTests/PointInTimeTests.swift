import Foundation
import JSON
import Logging
import QMP
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// A backup is a copy of the image as it was when the job started, whatever the guest writes meanwhile. A
    /// VM-like QEMU with two monitors: jobgate attached to one (`--qmp-socket`), the test writing to the source
    /// through the other (`human-monitor-command` with `qemu-io`) while jobgate's backup runs.
    @Suite struct PointInTimeTests {
        @Test("a backup of an image written during the job equals the image as it was when the job started")
        func backupIsPointInTime() async throws {
            let directory = try JobgateInstance.makeDataDirectory()
            let (forJobgate, forGuest) = (directory + "/jobgate.sock", directory + "/guest.sock")
            let binary = try QemuTools.tool(EngineHost.defaultBinary(for: .system))
            let vm = try ChildProcess(
                binary,
                [
                    "-machine", "none", "-nodefaults", "-display", "none",
                    "-qmp", "unix:\(forJobgate),server=on,wait=off", "-qmp", "unix:\(forGuest),server=on,wait=off",
                ],
                outputPath: directory + "/vm.out")
            defer { vm.signal(SIGKILL) }
            let up = await eventually(timeout: .seconds(10)) {
                FileManager.default.fileExists(atPath: forJobgate) && FileManager.default.fileExists(atPath: forGuest)
            }
            try #require(up, "the VM's monitors did not open: \(vm.output)")
            let guest = QMPClient(commandTimeout: .seconds(20), logger: Logger(label: "guest"))
            _ = try await guest.connect(socketPath: forGuest)
            do {
                try await JobgateInstance.with(dataDirectory: directory, arguments: ["--qmp-socket", forJobgate]) {
                    gate in
                    try await Self.check(gate, guest: guest)
                }
            } catch {
                await guest.finish()
                throw error
            }
            await guest.finish()
        }

        static func check(_ gate: JobgateInstance, guest: QMPClient) async throws {
            let images = gate.imageRoot
            try await QemuTools.makeImage(images + "/src.qcow2", size: "64M", filled: "64M", pattern: "0x5a")
            try await QemuTools.makeImage(images + "/dst.qcow2", size: "64M")
            try await gate.addQcow2Node("src", file: "src.qcow2")
            try await gate.addQcow2Node("dst", file: "dst.qcow2")
            // The source as it is now, copied before the job starts: nothing writes between the copy and the
            // start. (QEMU has it open with no I/O in flight, and qcow2 metadata is on disk after blockdev-add.)
            try FileManager.default.copyItem(atPath: images + "/src.qcow2", toPath: images + "/at-start.qcow2")
            _ = try await gate.createJob(
                #"{"type":"backup","id":"pit","device":"src","target":"dst","sync":"full","speed":16777216,"filter-node-name":"cbw"}"#
            )
            try await gate.waitForJob("pit", status: ["running"])

            // The guest writes across the image while the backup copies it (64 MiB at 16 MiB/s: about 4 s). A
            // guest's disk sits above the backup's copy-before-write filter (QEMU moves the source's users onto it;
            // it lets no one else write to the source), so the writes go through that filter, named here.
            var written = 0
            for megabyte in stride(from: 0, to: 64, by: 7) {
                let record = try await gate.job("pit")
                guard record["status"]?.stringValue == "running" else { break }
                let said = try await guest.execute(
                    "human-monitor-command",
                    arguments: ["command-line": .string("qemu-io cbw \"write -P 0xaa \(megabyte)M 1M\"")])
                // HMP's qemu-io answers nothing when the write went through, and its error otherwise.
                #expect(said == "", "qemu-io: \(said)")
                written += 1
                try await Task.sleep(for: .milliseconds(300))
            }
            let done = try await gate.waitForJob("pit", status: ["null"])
            #expect(done["stats"]?["outcome"] == "completed", "\(done)")
            #expect(written >= 5, "only \(written) writes landed while the backup ran")
            for name in ["src", "dst"] {
                let removed = try await gate.http.send("DELETE", "/nodes/\(name)")
                try #require(removed.status == 204, "\(removed.text)")
            }
            let copy = try await QemuTools.compare(images + "/at-start.qcow2", images + "/dst.qcow2")
            #expect(copy.identical, "the backup is not the image as it was at the start: \(copy.output)")
            let source = try await QemuTools.compare(images + "/at-start.qcow2", images + "/src.qcow2")
            #expect(!source.identical, "the guest's writes did not reach the source: \(source.output)")
            print("point in time: \(written) writes of 1 MiB during the backup; the copy equals the start")
        }
    }
}
