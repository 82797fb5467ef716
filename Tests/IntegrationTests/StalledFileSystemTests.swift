import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// An image root on a file system that stops answering (a hung NFS server, a stuck FUSE daemon): the requests
    /// that touch it fail within `--file-timeout`, and nothing else waits for them.
    @Suite struct StalledFileSystemTests {
        /// Mounts `Support/stallfs.py` (Debian's python3-fusepy; scripts/deps.sh installs it) at `path`.
        static func mountStallFS(at path: String, log: String) async throws -> ChildProcess {
            let python = "/usr/bin/python3"
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Support/stallfs.py"
            let (status, output) = try await ChildProcess.run(python, ["-c", "import fusepy"])
            try #require(status == 0, "python3-fusepy is not installed (scripts/deps.sh installs it): \(output)")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            let daemon = try ChildProcess(python, [script, path], outputPath: log)
            let mounted = await eventually(timeout: .seconds(10)) {
                FileManager.default.fileExists(atPath: path + "/ok.img")
            }
            try #require(mounted, "stallfs did not mount: \(daemon.output)")
            return daemon
        }

        static func unmount(_ path: String, daemon: ChildProcess) async {
            daemon.signal(SIGKILL)
            _ = await daemon.wait(timeout: .seconds(5))
            _ = try? await ChildProcess.run("/bin/umount", ["-l", path])
        }

        @Test("a stalled mount in the image root: 503 within --file-timeout, other requests at once, SIGTERM at once")
        func stalledMount() async throws {
            let gate = try await JobgateInstance.start(arguments: ["--stop-engine-on-exit", "--file-timeout", "1"])
            let mount = gate.imageRoot + "/stalled"
            let daemon = try await Self.mountStallFS(at: mount, log: gate.dataDirectory + "/stallfs.log")
            do {
                try await QemuTools.makeImage(gate.imageRoot + "/disk.qcow2", size: "4M")
                let http = gate.http
                let stalled = [
                    (
                        "/nodes",
                        #"{"node-name":"s1","driver":"qcow2","file":{"driver":"file","filename":"stalled/stall.img"}}"#
                    ),
                    (
                        "/nodes",
                        #"{"node-name":"s2","driver":"raw","file":{"driver":"file","filename":"stalled/stall.img"}}"#
                    ),
                    (
                        "/jobs",
                        #"{"type":"create","id":"s3","options":{"driver":"file","filename":"stalled/stall.img","size":0}}"#
                    ),
                ].map { path, body in
                    Task {
                        let started = ContinuousClock.now
                        let answer = try await http.post(path, body)
                        return (answer, ContinuousClock.now - started)
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                for (path, body, expected) in [
                    (
                        "/nodes",
                        #"{"node-name":"disk","driver":"qcow2","file":{"driver":"file","filename":"disk.qcow2"}}"#, 201
                    ),
                    (
                        "/jobs",
                        #"{"type":"create","id":"c","options":{"driver":"file","filename":"fresh.img","size":65536}}"#,
                        201
                    ),
                ] {
                    let started = ContinuousClock.now
                    let answer = try await http.post(path, body)
                    #expect(answer.status == expected, "\(body): \(answer.status) \(answer.text)")
                    #expect(ContinuousClock.now - started < .seconds(1), "\(body) waited for the stalled requests")
                }
                let started = ContinuousClock.now
                let nodes = try await http.get("/nodes")
                #expect(nodes.status == 200 && ContinuousClock.now - started < .seconds(1))
                for request in stalled {
                    let (answer, took) = try await request.value
                    #expect(answer.status == 503, "\(answer.status) \(answer.text)")
                    #expect(answer.json?["type"] == "urn:jobgate:problem:file-system-timeout", "\(answer.text)")
                    #expect(answer.header("Retry-After") != nil)
                    #expect(took < .seconds(3), "a stalled request took \(took)")
                }
                // SIGTERM: jobgate shuts down at once. The kernel lets a thread inside a FUSE request go only when
                // the daemon answers or goes away, so the process is reaped once the mount is gone.
                let stopping = ContinuousClock.now
                gate.process.signal(SIGTERM)
                let ended = await eventually(timeout: .seconds(5)) {
                    gate.process.output.contains("Service lifecycle ended")
                }
                #expect(ended, "shutdown did not finish within 5 s of SIGTERM")
                print("stalled mount: shutdown took \(ContinuousClock.now - stopping)")
                await Self.unmount(mount, daemon: daemon)
                let status = await gate.process.wait(timeout: .seconds(5))
                #expect(status == 0, "exit status \(String(describing: status))")
                await gate.cleanUp()
            } catch {
                await Self.unmount(mount, daemon: daemon)
                await gate.cleanUp()
                throw error
            }
        }
    }
}
