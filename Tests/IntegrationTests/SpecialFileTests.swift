import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// Only regular files are opened: a FIFO, a character device or a directory in an image root is refused at
    /// once, never handed to QEMU or opened by jobgate in a way that blocks.
    @Suite struct SpecialFileTests {
        @Test("a FIFO, a character device and a directory as node files, qcow2 and raw: 403 within 2 s, others go on")
        func specialFiles() async throws {
            let gate = try await JobgateInstance.start()
            do {
                try #require(mkfifo(gate.imageRoot + "/fifo.img", 0o600) == 0)
                try #require(mknod(gate.imageRoot + "/chr.img", S_IFCHR | 0o600, dev_t((1 << 8) | 3)) == 0)
                try FileManager.default.createDirectory(
                    atPath: gate.imageRoot + "/dir.img", withIntermediateDirectories: false)
                for file in ["fifo.img", "chr.img", "dir.img"] {
                    for driver in ["qcow2", "raw"] {
                        let started = ContinuousClock.now
                        let answer = try await gate.http.post(
                            "/nodes",
                            #"{"node-name":"n","driver":"\#(driver)","file":{"driver":"file","filename":"\#(file)"}}"#)
                        #expect(answer.status == 403, "\(driver) on \(file): \(answer.status) \(answer.text)")
                        #expect(answer.json?["type"] == "urn:jobgate:problem:not-a-regular-file", "\(answer.text)")
                        #expect(ContinuousClock.now - started < .seconds(2), "\(driver) on \(file) took too long")
                        let nodes = try await gate.http.get("/nodes")
                        #expect(nodes.status == 200 && !nodes.text.contains(#""n""#))
                    }
                }
                // A dangling symlink to a file outside the roots, as a create target and as a node file.
                let outside = NSTemporaryDirectory() + "jg-dangling-\(UUID().uuidString.prefix(6)).img"
                defer { try? FileManager.default.removeItem(atPath: outside) }
                try FileManager.default.createSymbolicLink(
                    atPath: gate.imageRoot + "/dangling.img", withDestinationPath: outside)
                let dangling = try await gate.http.post(
                    "/jobs",
                    #"{"type":"create","id":"d","options":{"driver":"file","filename":"dangling.img","size":1048576}}"#)
                #expect(
                    dangling.status == 403, "create through a dangling symlink: \(dangling.status) \(dangling.text)")
                let danglingNode = try await gate.http.post(
                    "/nodes", #"{"node-name":"d","driver":"raw","file":{"driver":"file","filename":"dangling.img"}}"#)
                #expect(danglingNode.status == 403, "\(danglingNode.text)")
                try await Task.sleep(for: .milliseconds(300))
                #expect(!FileManager.default.fileExists(atPath: outside), "a file was created outside the image root")
                let create = try await gate.http.post(
                    "/jobs", #"{"type":"create","id":"c","options":{"driver":"file","filename":"fifo.img","size":0}}"#)
                #expect(create.status == 403, "create on a FIFO: \(create.status) \(create.text)")
                let started = ContinuousClock.now
                let status = await gate.stop()
                #expect(
                    status == 0 && ContinuousClock.now - started < .seconds(5), "SIGTERM: \(String(describing: status))"
                )
                await gate.cleanUp()
            } catch {
                await gate.cleanUp()
                throw error
            }
        }
    }
}
