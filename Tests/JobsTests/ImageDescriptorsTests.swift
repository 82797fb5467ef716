import Foundation
import JSON
import JobModel
import Jobs
import QMP
import Synchronization
import TestSupport
import Testing

/// Which fdsets a sweep removes: only jobgate's, only those no node, live job or unfinished command holds.
/// Against a scripted engine that keeps fdsets, nodes and jobs the way QEMU reports them.
@Suite final class ImageDescriptorsTests {
    /// What the scripted engine holds.
    struct EngineState {
        var fdsets: [Int64: String] = [:]
        var nextFdset: Int64 = 0
        var nodeFiles: [String] = []
        var jobs: [(id: String, status: String)] = []
        var removed: [Int64] = []
    }

    let base = NSTemporaryDirectory() + "descriptors-\(UUID().uuidString.prefix(8))"
    /// The engine's state, shared with its script.
    final class Shared: Sendable {
        let state = Mutex(EngineState())
        func withLock<T>(_ body: (inout EngineState) throws -> T) rethrows -> T { try state.withLock { try body(&$0) } }
    }

    let state = Shared()
    let engine: ScriptedEngine
    let descriptors: ImageDescriptors

    init() throws {
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: base + "/disk.img", contents: Data(count: 4096))
        let state = self.state
        engine = ScriptedEngine { command, arguments in
            try state.withLock { state in
                switch command {
                case "add-fd":
                    let id = arguments?["fdset-id"]?.intValue ?? state.nextFdset
                    state.nextFdset = max(state.nextFdset, id + 1)
                    state.fdsets[id] = arguments?["opaque"]?.stringValue ?? ""
                    return ["fdset-id": .int(id), "fd": 40]
                case "remove-fd":
                    let id = arguments!["fdset-id"]!.intValue!
                    state.removed.append(id)
                    state.fdsets[id] = nil
                    return [:]
                case "query-fdsets":
                    return .array(
                        state.fdsets.map { id, opaque in
                            ["fdset-id": .int(id), "fds": [["fd": 40, "opaque": .string(opaque)]]]
                        })
                case "query-named-block-nodes":
                    return .array(state.nodeFiles.map { ["node-name": "n", "file": .string($0)] })
                case "query-jobs":
                    return .array(state.jobs.map { ["id": .string($0.id), "status": .string($0.status)] })
                default:
                    throw QMPError.command(QMPRemoteError(errorClass: "CommandNotFound", description: command))
                }
            }
        }
        let policy = try ImageRootPolicy(roots: [base])
        descriptors = ImageDescriptors(engine: engine, policy: policy)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: base)
    }

    var disk: String { descriptors.policy.roots[0] + "/disk.img" }

    @Test("an fdset holds the read-write and the read-only descriptor, named by the real path")
    func passes() async throws {
        let fdset = try #require(await descriptors.pass(disk, field: "f", named: "disk.img", intent: .existing))
        #expect(engine.passedDescriptorCounts == [1, 1])
        #expect(try await descriptors.realPaths() == ["/dev/fdset/\(fdset)": disk])
        let revealed = ImageDescriptors.revealing(
            ["file": .string("/dev/fdset/\(fdset)"), "json": .string(#"json:{"filename":"/dev/fdset/\#(fdset)"}"#)],
            paths: try await descriptors.realPaths())
        let expected: JSONValue = ["file": .string(disk), "json": .string(#"json:{"filename":"\#(disk)"}"#)]
        #expect(revealed == expected)
    }

    @Test("pending fdsets survive a sweep; settled ones go once no node uses them; nodes keep theirs")
    func sweepsNodes() async throws {
        let pending = try #require(await descriptors.pass(disk, field: "f", named: "disk.img", intent: .existing))
        await descriptors.sweep()
        #expect(state.withLock { $0.removed }.isEmpty)
        descriptors.settle([pending])
        state.withLock { $0.nodeFiles = ["/dev/fdset/\(pending)"] }
        await descriptors.sweep()
        #expect(state.withLock { $0.removed }.isEmpty)
        state.withLock { $0.nodeFiles = [] }
        await descriptors.sweep()
        #expect(state.withLock { $0.removed } == [pending])
    }

    @Test("an fdset made for a job stays while the job is live")
    func sweepsJobs() async throws {
        let fdset = try #require(await descriptors.pass(disk, field: "f", named: "disk.img", intent: .create))
        state.withLock { $0.jobs = [("c0", "running")] }
        descriptors.settle([fdset], forJob: "c0")
        await descriptors.sweep()
        await descriptors.sweep()
        #expect(state.withLock { $0.removed }.isEmpty)
        state.withLock { $0.jobs = [("c0", "concluded")] }
        await descriptors.sweep()
        #expect(state.withLock { $0.removed } == [fdset])
    }

    @Test("fdsets of others (another QEMU client's) are never removed; abandoned ones go at once")
    func foreignAndAbandoned() async throws {
        state.withLock { state in
            state.fdsets[7] = "libvirt-disk"
            state.nextFdset = 8
        }
        let fdset = try #require(await descriptors.pass(disk, field: "f", named: "disk.img", intent: .existing))
        await descriptors.abandon([fdset])
        #expect(state.withLock { $0.removed } == [fdset])
        await descriptors.sweep()
        #expect(state.withLock { $0.fdsets.keys.sorted() } == [7])
    }

    @Test("an engine without add-fd (QEMU 7.2's storage daemon) gets the checked real path")
    func withoutDescriptors() async throws {
        let bare = ScriptedEngine { command, _ in
            throw QMPError.command(QMPRemoteError(errorClass: "CommandNotFound", description: command))
        }
        let descriptors = ImageDescriptors(engine: bare, policy: self.descriptors.policy)
        let body: JSONValue = ["driver": "raw", "file": ["driver": "file", "filename": .string(disk)]]
        let (sent, fdsets) = try await descriptors.substitute(body)
        #expect(sent == body && fdsets.isEmpty)
        #expect(try await descriptors.realPaths().isEmpty)
        // The file is still opened the safe way first: a symlink there is refused.
        let link = descriptors.policy.roots[0] + "/link.img"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: disk)
        await #expect(throws: JobError.self) {
            try await descriptors.pass(link, field: "f", named: "link.img", intent: .existing)
        }
    }
}
