import Foundation
import QMP

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, output appended to a file.
///
/// Started through jobgate's own `Spawn` (see there why Foundation's `Process` is not used).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let outputPath: String

    /// Starts `executable` with `arguments`; stdout and stderr go to `outputPath`.
    public init(_ executable: String, _ arguments: [String], outputPath: String) throws {
        self.pid = try Spawn.start(executable, arguments: arguments, logPath: outputPath)
        self.outputPath = outputPath
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the process to exit and returns its status (128 + signal if killed), or nil after `timeout`.
    @discardableResult
    public func wait(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return Spawn.exitStatus(status) }
            if result < 0 { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Runs a program to completion and returns its exit status and output; a program still running after
    /// `timeout` is killed and reported with status -1.
    public static func run(
        _ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, output: String) {
        let path = NSTemporaryDirectory() + "/jobgate-test-\(UUID().uuidString).out"
        defer { unlink(path) }
        let child = try ChildProcess(executable, arguments, outputPath: path)
        guard let status = await child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            _ = await child.wait(timeout: .seconds(5))
            return (-1, child.output)
        }
        return (status, child.output)
    }

    /// The absolute path of `name` from PATH, or nil.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}
