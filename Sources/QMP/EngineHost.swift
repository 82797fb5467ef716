import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Starts and stops the QEMU job host ("engine") that jobgate owns, with its QMP socket and pid file in the data
/// directory.
///
/// The engine is started with QEMU's own `-daemonize`, so it runs in a session of its own (setsid) and outlives a
/// jobgate crash or restart; a later jobgate finds it again through the socket and the pid file.
public struct EngineHost: Sendable {
    /// Which QEMU program hosts the jobs.
    public enum Kind: String, Sendable, CaseIterable {
        /// `qemu-system-<arch> -machine none`: runs all nine job types on QEMU 7.2.
        case system
        /// `qemu-storage-daemon`: no snapshot-save/-load/-delete.
        case qsd
    }

    public let kind: Kind
    public let binary: String
    public let socketPath: String
    public let pidFilePath: String
    public let logPath: String
    private let logger: Logger

    /// - Parameters:
    ///   - binary: the program to run; nil picks `qemu-system-<host arch>` or `qemu-storage-daemon` from `PATH`.
    ///   - dataDirectory: where `qmp.sock`, `engine.pid` and `engine.log` live.
    public init(kind: Kind, binary: String?, dataDirectory: String, logger: Logger) {
        self.kind = kind
        self.binary = binary ?? Self.defaultBinary(for: kind)
        self.socketPath = dataDirectory + "/qmp.sock"
        self.pidFilePath = dataDirectory + "/engine.pid"
        self.logPath = dataDirectory + "/engine.log"
        self.logger = logger
    }

    /// `qemu-system-x86_64` on x86_64 hosts, `qemu-system-aarch64` on arm64, and so on.
    public static func defaultBinary(for kind: Kind) -> String {
        switch kind {
        case .qsd: return "qemu-storage-daemon"
        case .system:
            var name = utsname()
            uname(&name)
            let machine = withUnsafeBytes(of: &name.machine) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            let arch: String
            switch machine {
            case "x86_64", "amd64": arch = "x86_64"
            case "aarch64", "arm64": arch = "aarch64"
            case "ppc64le": arch = "ppc64"
            case let other where other.hasPrefix("i") && other.hasSuffix("86"): arch = "i386"
            default: arch = machine
            }
            return "qemu-system-\(arch)"
        }
    }

    /// The command line that starts the engine.
    public var arguments: [String] {
        let socket = Self.escapeOption(socketPath)
        let pidFile = Self.escapeOption(pidFilePath)
        switch kind {
        case .system:
            return [
                "-machine", "none", "-nodefaults", "-display", "none", "-name", "jobgate-engine",
                "-qmp", "unix:\(socket),server=on,wait=off", "-pidfile", pidFile, "-daemonize",
            ]
        case .qsd:
            return [
                "--chardev", "socket,id=jobgate-qmp,path=\(socket),server=on,wait=off",
                "--monitor", "chardev=jobgate-qmp", "--pidfile", pidFile, "--daemonize",
            ]
        }
    }

    /// The pid of a live engine recorded in the pid file, or nil.
    public func runningPID() -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFilePath, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        if kill(pid, 0) == 0 || errno == EPERM { return Self.isZombie(pid) ? nil : pid }
        return nil
    }

    /// Starts a new engine and returns once its QMP socket is listening (QEMU's `-daemonize` parent exits only
    /// after initialisation).
    /// - Throws: `EngineHostError` naming the binary and QEMU's own words from `engine.log`.
    public func start() async throws {
        unlink(socketPath)
        unlink(pidFilePath)
        logger.info("starting QEMU engine", metadata: ["binary": "\(binary)", "socket": "\(socketPath)"])
        let status = try await Spawn.run(try resolvedBinary(), arguments: arguments, logPath: logPath)
        guard status == 0 else {
            let words =
                (try? String(contentsOfFile: logPath, encoding: .utf8))?
                .split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
            throw EngineHostError.startFailed(binary: binary, reason: "exit status \(status): \(words)")
        }
    }

    /// Asks the engine to quit (SIGTERM), and kills it if it has not gone within `grace`.
    public func stop(grace: Duration = .seconds(5)) async {
        guard let pid = runningPID() else { return }
        logger.info("stopping QEMU engine", metadata: ["pid": "\(pid)"])
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if runningPID() == nil { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGKILL)
    }

    private func resolvedBinary() throws -> String {
        if binary.contains("/") { return binary }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(binary)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw EngineHostError.startFailed(
            binary: binary, reason: "not found in PATH (install Debian's qemu-system-x86 or qemu-system-<arch>)")
    }

    /// A zombie still answers `kill(pid, 0)`; it is dead for our purposes.
    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// QEMU option values escape a comma by doubling it.
    private static func escapeOption(_ value: String) -> String {
        value.replacingOccurrences(of: ",", with: ",,")
    }
}

/// Why the engine could not be started.
public enum EngineHostError: Error, Sendable, CustomStringConvertible {
    case startFailed(binary: String, reason: String)

    public var description: String {
        switch self {
        case .startFailed(let binary, let reason): "cannot start QEMU engine \(binary): \(reason)"
        }
    }
}
