import Foundation
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// jobgate opens every image itself and hands QEMU the descriptor (`/dev/fdset/N`): QEMU never resolves a
    /// path a client named, so symlinks in an image root, even swapped while requests run, lead nowhere outside.
    @Suite struct DescriptorPassingTests {
        /// A directory outside the image root with one file in it, and what that file looked like.
        struct Outside {
            let directory: String
            let file: String
            let status: stat

            init() throws {
                directory = NSTemporaryDirectory() + "jg-outside-\(UUID().uuidString.prefix(8))"
                file = directory + "/victim.img"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try Data(repeating: 0x77, count: 65_536).write(to: URL(fileURLWithPath: file))
                var status = stat()
                try #require(stat(file, &status) == 0)
                self.status = status
            }

            /// Fails unless the directory still holds only the victim, unchanged (size, mtime, contents).
            func expectUntouched(_ context: String) throws {
                let entries = try FileManager.default.contentsOfDirectory(atPath: directory)
                #expect(entries == ["victim.img"], "\(context): files created outside the root: \(entries)")
                var now = stat()
                try #require(stat(file, &now) == 0)
                #expect(now.st_size == status.st_size, "\(context): the outside file changed size")
                #expect(
                    now.st_mtim.tv_sec == status.st_mtim.tv_sec && now.st_mtim.tv_nsec == status.st_mtim.tv_nsec,
                    "\(context): the outside file was modified")
                let contents = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(contents == Data(repeating: 0x77, count: 65_536), "\(context): the outside file was written")
            }

            func remove() { try? FileManager.default.removeItem(atPath: directory) }
        }

        /// What the engine has open outside `directory` right now, from /proc.
        static func openFiles(of pid: pid_t?, under directory: String) -> [String] {
            guard let pid else { return [] }
            let fds = "/proc/\(pid)/fd"
            return ((try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? []).compactMap {
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + $0)
                return target.flatMap { $0.hasPrefix(directory) ? $0 : nil }
            }
        }

        @Test("a symlink to a directory outside, as create target and as node file: 403, nothing outside touched")
        func directorySymlink() async throws {
            let outside = try Outside()
            defer { outside.remove() }
            try await JobgateInstance.with { gate in
                try FileManager.default.createSymbolicLink(
                    atPath: gate.imageRoot + "/out", withDestinationPath: outside.directory)
                let create = try await gate.http.post(
                    "/jobs",
                    #"{"type":"create","id":"c","options":{"driver":"file","filename":"out/new.img","size":65536}}"#)
                #expect(create.status == 403, "\(create.text)")
                let truncate = try await gate.http.post(
                    "/jobs",
                    #"{"type":"create","id":"t","options":{"driver":"file","filename":"out/victim.img","size":0}}"#)
                #expect(truncate.status == 403, "\(truncate.text)")
                let node = try await gate.http.post(
                    "/nodes", #"{"node-name":"n","driver":"raw","file":{"driver":"file","filename":"out/victim.img"}}"#)
                #expect(node.status == 403, "\(node.text)")
                #expect(node.json?["field"] == "file.filename")
                try await Task.sleep(for: .milliseconds(300))
                try outside.expectUntouched("after the requests")
                #expect(Self.openFiles(of: gate.enginePID, under: outside.directory).isEmpty)
            }
        }

        @Test("nodes list real paths; deleting a node closes QEMU's descriptors for it")
        func descriptorsFollowNodes() async throws {
            try await JobgateInstance.with { gate in
                try await QemuTools.makeImage(gate.imageRoot + "/disk.qcow2", size: "4M")
                try await gate.addQcow2Node("disk", file: "disk.qcow2")
                let nodes = try await gate.http.get("/nodes")
                #expect(!nodes.text.contains("/dev/fdset"), "\(nodes.text)")
                let real = try #require(realpath(gate.imageRoot, nil).map { String(cString: $0) }) + "/disk.qcow2"
                let disk = nodes.json?["nodes"]?.arrayValue?.first { $0["node-name"] == "disk" }
                #expect(disk?["file"] == .string(real), "\(nodes.text)")
                let engineRoot = try #require(realpath(gate.imageRoot, nil).map { String(cString: $0) })
                #expect(!Self.openFiles(of: gate.enginePID, under: engineRoot + "/disk.qcow2").isEmpty)
                try await gate.deleteNode("disk")
                // The fdset is removed before DELETE answers, so no lock of QEMU's outlives the node.
                #expect(Self.openFiles(of: gate.enginePID, under: engineRoot + "/disk.qcow2").isEmpty)
                try await QemuTools.io(gate.imageRoot + "/disk.qcow2", "write -P 0x11 0 64k")
            }
        }

        @Test("a symlink swapped between inside and outside while images are created and attached: nothing escapes")
        func symlinkSwapRace() async throws {
            let seconds = Double(ProcessInfo.processInfo.environment["SYMLINK_RACE_SECONDS"] ?? "") ?? 10
            let outside = try Outside()
            defer { outside.remove() }
            try await JobgateInstance.with { gate in
                let root = gate.imageRoot
                // sw: a real directory checked by jobgate, exchanged with a symlink to the outside directory;
                // swap: a symlink to a file inside, exchanged with one to the outside file.
                try FileManager.default.createDirectory(atPath: root + "/sw", withIntermediateDirectories: false)
                for name in ["inside.img", "victim.img"] {
                    try Data(repeating: 0x11, count: 65_536).write(to: URL(fileURLWithPath: root + "/sw/" + name))
                }
                try FileManager.default.createSymbolicLink(
                    atPath: root + "/sw.alt", withDestinationPath: outside.directory)
                try FileManager.default.createSymbolicLink(
                    atPath: root + "/swap", withDestinationPath: root + "/sw/inside.img")
                try FileManager.default.createSymbolicLink(
                    atPath: root + "/swap.alt", withDestinationPath: outside.file)
                let swapper = PathExchanger(pairs: [
                    (root + "/sw", root + "/sw.alt"), (root + "/swap", root + "/swap.alt"),
                ])
                swapper.start()
                defer { swapper.stop() }
                var outcomes: [Int: Int] = [:]
                var escapes: [String] = []
                let deadline = ContinuousClock.now + .seconds(seconds)
                var round = 0
                while ContinuousClock.now < deadline {
                    round += 1
                    let requests: [(String, String)] = [
                        (
                            "/nodes",
                            #"{"node-name":"n\#(round)","driver":"raw","file":{"driver":"file","filename":"swap"}}"#
                        ),
                        (
                            "/jobs",
                            #"{"type":"create","id":"c\#(round)","options":{"driver":"file","filename":"sw/new\#(round).img","size":4096}}"#
                        ),
                        (
                            "/jobs",
                            #"{"type":"create","id":"t\#(round)","options":{"driver":"file","filename":"sw/victim.img","size":4096}}"#
                        ),
                        (
                            "/jobs",
                            #"{"type":"create","id":"u\#(round)","options":{"driver":"file","filename":"swap","size":4096}}"#
                        ),
                        (
                            "/nodes",
                            #"{"node-name":"d\#(round)","driver":"raw","file":{"driver":"file","filename":"sw/inside.img"}}"#
                        ),
                    ]
                    for (path, body) in requests {
                        let answer = try await gate.http.post(path, body)
                        outcomes[answer.status, default: 0] += 1
                        #expect([201, 403, 422].contains(answer.status), "\(body): \(answer.status) \(answer.text)")
                    }
                    escapes += Self.openFiles(of: gate.enginePID, under: outside.directory)
                    for node in ["n\(round)", "d\(round)"] { _ = try await gate.http.send("DELETE", "/nodes/\(node)") }
                }
                swapper.stop()
                try await Task.sleep(for: .milliseconds(500))
                #expect(escapes.isEmpty, "QEMU had files outside the root open: \(Set(escapes))")
                try outside.expectUntouched("after \(round) rounds")
                // Both sides of the race were hit: some requests went through, some were refused.
                #expect((outcomes[201] ?? 0) > 0 && (outcomes[403] ?? 0) > 0, "outcomes: \(outcomes)")
                print("symlink race: \(round) rounds in \(seconds) s, \(swapper.swaps) exchanges, outcomes \(outcomes)")
            }
        }
    }
}

/// Exchanges pairs of paths (a directory and a symlink, two symlinks) as fast as it can, on its own thread:
/// `rename` through a staging name, so each path is briefly missing but never anything else.
final class PathExchanger: @unchecked Sendable {
    private let pairs: [(String, String)]
    private let lock = NSLock()
    private var running = true
    private var count = 0

    init(pairs: [(String, String)]) {
        self.pairs = pairs
    }

    var swaps: Int { lock.withLock { count } }

    func start() {
        Thread { [self] in
            while lock.withLock({ running }) {
                for (first, second) in pairs {
                    let staging = first + ".staging"
                    rename(first, staging)
                    rename(second, first)
                    rename(staging, second)
                }
                lock.withLock { count += 1 }
            }
        }.start()
    }

    func stop() {
        lock.withLock { running = false }
    }
}
