import Foundation
import JSON
import JobModel
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// All integration suites run one test at a time: each starts real processes, and the machines have 2 cores.
@Suite(.serialized) enum Integration {}

/// A real `jobgate` process on a loopback port with its own data directory.
final class JobgateInstance: Sendable {
    let dataDirectory: String
    let imageRoot: String
    let port: UInt16
    let http: HTTP
    let process: ChildProcess

    /// The jobgate binary under test: `$JOBGATE_BINARY` (set by scripts/test.sh) or the debug build.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["JOBGATE_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/jobgate").path
    }

    /// A fresh temporary data directory with an `images` root.
    static func makeDataDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "jg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path + "/images", withIntermediateDirectories: true)
        return path
    }

    /// Starts jobgate and waits until it listens (and, unless `waitForEngine` is false, until `/readyz` is 200).
    /// - Parameter environment: variables set for jobgate besides the test's own (through `env`, which execs it:
    ///   the pid is jobgate's).
    static func start(
        dataDirectory: String? = nil, port: UInt16 = 0, arguments: [String] = ["--stop-engine-on-exit"],
        waitForEngine: Bool = true, logPath: String? = nil, environment: [String: String] = [:]
    ) async throws -> JobgateInstance {
        try #require(
            FileManager.default.isExecutableFile(atPath: binary),
            "jobgate binary missing at \(binary): run scripts/test.sh (it builds it first)")
        let directory = try dataDirectory ?? makeDataDirectory()
        let log = logPath ?? directory + "/jobgate.out"
        let offset = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let command =
            [binary, "--listen", "127.0.0.1:\(port)", "--data-dir", directory, "--log-level", "debug"] + arguments
        let process =
            environment.isEmpty
            ? try ChildProcess(command[0], Array(command.dropFirst()), outputPath: log)
            : try ChildProcess("/usr/bin/env", environment.map { "\($0)=\($1)" } + command, outputPath: log)
        var bound: UInt16?
        let listening = await eventually(timeout: .seconds(20)) {
            let text = String(process.output.dropFirst(offset))
            if let range = text.range(of: "listening on http://127.0.0.1:")
                ?? text.range(of: "listening on https://127.0.0.1:")
            {
                bound = UInt16(text[range.upperBound...].prefix { $0.isNumber })
            }
            return bound != nil
        }
        try #require(listening, "jobgate did not start listening:\n\(process.output)")
        let instance = JobgateInstance(dataDirectory: directory, port: bound!, process: process)
        if waitForEngine {
            let ready = try await eventually(timeout: .seconds(30)) {
                try await instance.http.get("/readyz").status == 200
            }
            try #require(ready, "jobgate's engine never became ready:\n\(process.output)")
        }
        return instance
    }

    private init(dataDirectory: String, port: UInt16, process: ChildProcess) {
        self.dataDirectory = dataDirectory
        self.imageRoot = dataDirectory + "/images"
        self.port = port
        self.http = HTTP(base: URL(string: "http://127.0.0.1:\(port)")!)
        self.process = process
    }

    /// SIGTERM, then wait for a clean exit.
    @discardableResult
    func stop() async -> Int32? {
        process.signal(SIGTERM)
        return await process.wait(timeout: .seconds(20))
    }

    /// SIGKILL: a crash.
    func kill9() async {
        process.signal(SIGKILL)
        await process.wait(timeout: .seconds(10))
    }

    /// The engine's pid, from the pid file jobgate keeps in the data directory.
    var enginePID: pid_t? {
        (try? String(contentsOfFile: dataDirectory + "/engine.pid", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Kills the engine (for tests that leave it running on purpose) and removes the data directory.
    func cleanUp() async {
        await stop()
        if let pid = enginePID { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    /// Runs `body` with a started jobgate and always cleans up afterwards (jobgate, engine, data directory),
    /// also when `body` throws.
    static func with<T>(
        dataDirectory: String? = nil, arguments: [String] = ["--stop-engine-on-exit"],
        _ body: (JobgateInstance) async throws -> T
    ) async throws -> T {
        let gate = try await start(dataDirectory: dataDirectory, arguments: arguments)
        do {
            let result = try await body(gate)
            await gate.cleanUp()
            return result
        } catch {
            await gate.cleanUp()
            throw error
        }
    }

    // MARK: - API helpers

    /// `POST /nodes` for a qcow2 image in the image root; expects 201.
    func addQcow2Node(_ name: String, file: String) async throws {
        let answer = try await http.post(
            "/nodes", #"{"node-name":"\#(name)","driver":"qcow2","file":{"driver":"file","filename":"\#(file)"}}"#)
        try #require(answer.status == 201, "POST /nodes \(name): \(answer.status) \(answer.text)")
    }

    /// Makes `src.qcow2` (64 MiB, the first `filled` bytes set to `pattern`) and an empty 64 MiB `dst.qcow2` in the
    /// image root, and attaches them as nodes `src` and `dst`.
    func attachSourceAndTarget(filled: String, pattern: String = "0x5a") async throws {
        try await QemuTools.makeImage(imageRoot + "/src.qcow2", filled: filled, pattern: pattern)
        try await QemuTools.makeImage(imageRoot + "/dst.qcow2")
        try await addQcow2Node("src", file: "src.qcow2")
        try await addQcow2Node("dst", file: "dst.qcow2")
    }

    /// `POST /jobs`; expects 201 and returns the record.
    @discardableResult
    func createJob(_ body: String) async throws -> JSONValue {
        let answer = try await http.post("/jobs", body)
        try #require(answer.status == 201, "POST /jobs \(body): \(answer.status) \(answer.text)")
        return try #require(answer.json)
    }

    /// `DELETE /nodes/{name}`; expects 204.
    func deleteNode(_ name: String) async throws {
        let answer = try await http.send("DELETE", "/nodes/\(name)")
        try #require(answer.status == 204, "DELETE /nodes/\(name): \(answer.status) \(answer.text)")
    }

    /// `GET /jobs/{id}` as JSON.
    func job(_ id: String) async throws -> JSONValue {
        let answer = try await http.get("/jobs/\(id)")
        try #require(answer.status == 200, "GET /jobs/\(id): \(answer.status) \(answer.text)")
        return try #require(answer.json)
    }

    /// Applies a verb; expects 202.
    func verb(_ id: String, _ verb: String, _ body: String? = nil) async throws {
        let answer = try await http.post("/jobs/\(id)/\(verb)", body)
        try #require(answer.status == 202, "POST /jobs/\(id)/\(verb): \(answer.status) \(answer.text)")
    }

    /// Polls the job until its status is one of `statuses`, and returns the record.
    @discardableResult
    func waitForJob(_ id: String, status statuses: Set<String>, timeout: Duration = .seconds(60)) async throws
        -> JSONValue
    {
        var last: JSONValue = .null
        let reached = try await eventually(timeout: timeout) {
            last = try await job(id)
            return statuses.contains(last["status"]?.stringValue ?? "")
        }
        try #require(reached, "job \(id) never reached \(statuses.sorted()); last record: \(last)")
        return last
    }
}
