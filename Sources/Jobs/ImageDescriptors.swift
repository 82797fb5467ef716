import Foundation
import JSON
import JobModel
import QMP
import Synchronization

/// Hands QEMU open files instead of file names: jobgate opens each image itself, inside an image root, without
/// following symlinks (`ImageRootPolicy.open`), passes the descriptors with QMP `add-fd` (`SCM_RIGHTS` over the
/// monitor socket), and names the file `/dev/fdset/N` in the command. QEMU duplicates a descriptor of the set
/// with the access mode it needs (`monitor/fds.c`, `util/osdep.c`), so it never resolves a path a client named.
///
/// Each fdset carries `jobgate:<real path>` as its `opaque`, so which file an fdset holds is read back from QEMU
/// (`query-fdsets`), also by a jobgate restarted against a running engine. An fdset lives as long as something
/// uses it: it is removed (`remove-fd`) by `sweep` once no block node refers to it and no live job it was made for
/// needs it; node removal sweeps at once, and `sweepSoon` after jobs end.
///
/// Safe from any task; the file-system calls block briefly and never wait on a FIFO.
public final class ImageDescriptors: Sendable {
    /// What keeps an fdset from being swept, besides a node that refers to it.
    private enum Hold: Sendable {
        /// Passed; the command that uses it has not finished.
        case pending
        /// Made for job `id` (a `blockdev-create` opens its file only when it runs): held while the job is live,
        /// and at least until a sweep that started after this.
        case job(String, generation: UInt64)
        /// In use by what the command made: held until a sweep that started after this (that sweep sees the
        /// node, or that nothing uses the fdset any more).
        case settled(generation: UInt64)
    }

    private struct State {
        var holds: [Int64: Hold] = [:]
        /// Counts sweeps begun; a settlement records the count at the time.
        var generation: UInt64 = 0
        var sweepScheduled = false
        /// The engine answered `add-fd` with CommandNotFound: files are named by their real paths.
        var engineLacksDescriptors = false
    }

    static let opaquePrefix = "jobgate:"
    private static var fdsetPattern: Regex<(Substring, Substring)> { /\/dev\/fdset\/([0-9]+)/ }
    private let engine: any QMPExecuting
    public let policy: ImageRootPolicy
    /// Where the policy's file-system calls run, time-bounded.
    public let fileSystem: FileSystemWork
    private let state = Mutex(State())

    public init(engine: any QMPExecuting, policy: ImageRootPolicy, fileSystem: FileSystemWork = FileSystemWork()) {
        self.engine = engine
        self.policy = policy
        self.fileSystem = fileSystem
    }

    /// Opens `path` (a real path `policy.resolve` returned) and passes it to QEMU as a new fdset, held as pending.
    /// - Returns: the fdset's id (QEMU's file name for it is `/dev/fdset/<id>`), or nil when the engine takes no
    ///   descriptors (QEMU 7.2's storage daemon has no `add-fd`): then QEMU gets `path`, checked and opened
    ///   without following symlinks just before, and a symlink swapped in between is not caught.
    /// - Throws: the policy's refusals from `ImageRootPolicy.open`, `JobError.fileSystemTimeout`, or
    ///   `JobError.engine` if `add-fd` fails.
    public func pass(_ path: String, field: String, named name: String, intent: ImageRootPolicy.OpenIntent)
        async throws -> Int64?
    {
        let descriptors = try await fileSystem.run { [policy] in
            try policy.open(path, field: field, named: name, intent: intent)
        } late: {
            $0.forEach { _ = close($0) }
        }
        defer { descriptors.forEach { _ = close($0) } }
        guard state.withLock({ !$0.engineLacksDescriptors }) else { return nil }
        let opaque = JSONValue.string(Self.opaquePrefix + path)
        let first: JSONValue
        do {
            first = try await engine.execute("add-fd", arguments: ["opaque": opaque], passing: [descriptors[0]])
        } catch QMPError.command(let refusal) where refusal.errorClass == "CommandNotFound" {
            state.withLock { $0.engineLacksDescriptors = true }
            return nil
        } catch let error as QMPError {
            throw JobError.engine(EngineFailure(error), operation: .create)
        }
        guard let fdset = first["fdset-id"]?.intValue else {
            throw JobError.engine(.protocolViolation("add-fd answered without fdset-id"), operation: .create)
        }
        state.withLock { $0.holds[fdset] = .pending }
        do {
            for descriptor in descriptors.dropFirst() {
                try await engine.run("add-fd", ["fdset-id": .int(fdset), "opaque": opaque], passing: [descriptor])
            }
        } catch {
            await abandon([fdset])
            throw error
        }
        return fdset
    }

    /// Replaces every `filename` of a `file` or `host_device` node in `arguments` (already confined: real paths)
    /// with a passed fdset.
    /// - Parameter top: the intent for a `file` object at the top of `arguments` (`.create` for `blockdev-create`);
    ///   nested ones are always existing files.
    /// - Returns: the arguments to send and the fdsets passed; settle or abandon them once the command answered.
    public func substitute(_ arguments: JSONValue, path: String = "", top: ImageRootPolicy.OpenIntent = .existing)
        async throws -> (JSONValue, [Int64])
    {
        var passed: [Int64] = []
        do {
            let result = try await substitute(arguments, path: path, intent: top, passed: &passed)
            return (result, passed)
        } catch {
            await abandon(passed)
            throw error
        }
    }

    private func substitute(
        _ value: JSONValue, path: String, intent: ImageRootPolicy.OpenIntent, passed: inout [Int64]
    ) async throws -> JSONValue {
        switch value {
        case .array(let elements):
            var result: [JSONValue] = []
            for (index, element) in elements.enumerated() {
                result.append(
                    try await substitute(element, path: "\(path)[\(index)]", intent: .existing, passed: &passed))
            }
            return .array(result)
        case .object(var members):
            let driver = members["driver"]?.stringValue
            for key in members.keys.sorted() {
                let field = path + key
                if key == "filename", driver == "file" || driver == "host_device", let file = members[key]?.stringValue
                {
                    if let fdset = try await pass(file, field: field, named: file, intent: intent) {
                        passed.append(fdset)
                        members[key] = .string("/dev/fdset/\(fdset)")
                    }
                } else if let member = members[key] {
                    members[key] = try await substitute(member, path: field + ".", intent: .existing, passed: &passed)
                }
            }
            return .object(members)
        default:
            return value
        }
    }

    /// The command that uses `fdsets` succeeded. Held for `job` while it is live, or else until the next sweep.
    public func settle(_ fdsets: [Int64], forJob job: String? = nil) {
        state.withLock { state in
            for fdset in fdsets {
                state.holds[fdset] =
                    job.map { .job($0, generation: state.generation) } ?? .settled(generation: state.generation)
            }
        }
        if job != nil { sweepSoon() }
    }

    /// The command that would have used `fdsets` failed or was never sent: removes them now.
    public func abandon(_ fdsets: [Int64]) async {
        for fdset in fdsets {
            state.withLock { _ = $0.holds.removeValue(forKey: fdset) }
            _ = try? await engine.execute("remove-fd", arguments: ["fdset-id": .int(fdset)])
        }
    }

    /// The real path behind each of jobgate's fdsets, by QEMU's file name for it (`/dev/fdset/N`).
    /// - Throws: `JobError.engine(..., .query)`.
    public func realPaths() async throws -> [String: String] {
        guard state.withLock({ !$0.engineLacksDescriptors }) else { return [:] }
        var paths: [String: String] = [:]
        let sets: JSONValue
        do {
            sets = try await engine.execute("query-fdsets", arguments: nil)
        } catch QMPError.command(let refusal) where refusal.errorClass == "CommandNotFound" {
            state.withLock { $0.engineLacksDescriptors = true }
            return [:]
        } catch let error as QMPError {
            throw JobError.engine(EngineFailure(error), operation: .query)
        }
        for set in sets.arrayValue ?? [] {
            guard let id = set["fdset-id"]?.intValue else { continue }
            let opaque = set["fds"]?.arrayValue?.compactMap { $0["opaque"]?.stringValue }
                .first { $0.hasPrefix(Self.opaquePrefix) }
            if let opaque { paths["/dev/fdset/\(id)"] = String(opaque.dropFirst(Self.opaquePrefix.count)) }
        }
        return paths
    }

    /// The real path behind a file name QEMU reports: one of jobgate's fdsets, or an absolute path as it is.
    /// - Throws: `JobError.engine(..., .query)` when the fdsets must be asked for.
    public func realPath(of file: String) async throws -> String? {
        guard file.hasPrefix("/dev/fdset/") else { return file.hasPrefix("/") ? file : nil }
        return try await realPaths()[file]
    }

    /// `value` with every fdset file name QEMU reports (also inside `json:` names) replaced by its real path.
    public static func revealing(_ value: JSONValue, paths: [String: String]) -> JSONValue {
        switch value {
        case .string(let text) where text.contains("/dev/fdset/"):
            return .string(
                text.replacing(fdsetPattern) { match in paths[String(match.output.0)] ?? String(match.output.0) })
        case .array(let elements): return .array(elements.map { revealing($0, paths: paths) })
        case .object(let members): return .object(members.mapValues { revealing($0, paths: paths) })
        default: return value
        }
    }

    /// Removes every fdset of jobgate's that no block node refers to, no live job it was made for needs, and no
    /// unfinished command holds. Errors are left for the next sweep.
    public func sweep() async {
        let generation = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        guard let sets = try? await realPaths(), !sets.isEmpty,
            let nodes = try? await engine.execute("query-named-block-nodes", arguments: ["flat": true]),
            let jobs = try? await engine.execute("query-jobs", arguments: nil)
        else { return }
        let text = String(decoding: nodes.serialized(), as: UTF8.self)
        let used = Set(text.matches(of: Self.fdsetPattern).compactMap { Int64($0.output.1) })
        let live = Set(
            (jobs.arrayValue ?? []).filter { !["concluded", "null"].contains($0["status"]?.stringValue ?? "") }
                .compactMap { $0["id"]?.stringValue })
        let unused = state.withLock { state in
            sets.keys.compactMap { Int64($0.dropFirst("/dev/fdset/".count)) }.filter { fdset in
                guard !used.contains(fdset) else { return false }
                switch state.holds[fdset] {
                case .pending: return false
                case .job(let id, let at): return at < generation && !live.contains(id)
                case .settled(let at): return at < generation
                case nil: return true
                }
            }
        }
        for fdset in unused {
            state.withLock { _ = $0.holds.removeValue(forKey: fdset) }
            _ = try? await engine.execute("remove-fd", arguments: ["fdset-id": .int(fdset)])
        }
    }

    /// Sweeps in about a second, once however often it is asked meanwhile: after jobs end, whose fdsets (and
    /// the image locks QEMU took through them) should not outlive them for long.
    public func sweepSoon() {
        let schedule = state.withLock { state in
            defer { state.sweepScheduled = true }
            return !state.sweepScheduled
        }
        guard schedule else { return }
        Task {
            try? await Task.sleep(for: .seconds(1))
            state.withLock { $0.sweepScheduled = false }
            await sweep()
        }
    }
}
