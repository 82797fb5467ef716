import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts programs with stdin from /dev/null and stdout/stderr appended to a log file.
///
/// Foundation's `Process` is not used: on Linux it notices exit through a descriptor the child inherits, and a
/// daemonizing child (QEMU's `-daemonize`) hands that descriptor to the daemon, so the exit is never seen.
/// Here `waitpid` runs on a thread of its own, off the cooperative pool. jobgate's own descriptors are all
/// close-on-exec (libmicrohttpd's sockets, the QMP socket), so the daemon inherits none of them.
public enum Spawn {
    /// Runs `executable` to completion.
    /// - Returns: the program's exit status (128 + signal number if it was killed).
    /// - Throws: `EngineHostError.startFailed` if the program cannot be started.
    static func run(_ executable: String, arguments: [String], logPath: String) async throws -> Int32 {
        let child = try start(executable, arguments: arguments, logPath: logPath)
        return await withCheckedContinuation { continuation in
            let waiter = Thread {
                var status: Int32 = 0
                while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: exitStatus(status))
            }
            waiter.name = "engine-spawn"
            waiter.start()
        }
    }

    /// `waitpid`'s status as an exit code: the code itself, or 128 + the signal that killed the process.
    public static func exitStatus(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Starts `executable` and returns its pid; the caller reaps it.
    /// - Throws: `EngineHostError.startFailed` if the program cannot be started.
    public static func start(_ executable: String, arguments: [String], logPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The calling thread may block or ignore signals (Dispatch's workers block them all); the child must start
        // with a clean mask and default dispositions, or it would never see SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw EngineHostError.startFailed(binary: executable, reason: String(cString: strerror(result)))
        }
        return pid
    }
}
