import ArgumentParser
import Foundation
import Jobs
import Logging
import QMP

#if canImport(Glibc)
    import Glibc
#endif

extension JobgateCommand {
    /// The engine as `GET /engines` names it: `local`, its QMP socket, and whether jobgate started it.
    static func identity(of mode: EngineSupervisor.Mode) -> EngineIdentity {
        switch mode {
        case .owned(let host, _): EngineIdentity(socketPath: host.socketPath, isOwned: true)
        case .external(let socketPath): EngineIdentity(socketPath: socketPath, isOwned: false)
        }
    }

    /// `--retain-age` and `--retain-count` as a policy.
    func retentionPolicy() throws -> RetentionPolicy {
        var policy = RetentionPolicy()
        if retainAge == "forever" {
            policy.maxAge = nil
        } else {
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            guard let unit = retainAge.last.flatMap({ units[$0] }), let value = Int64(retainAge.dropLast()), value >= 0
            else { throw ValidationError("--retain-age must be a number with s, m, h or d (e.g. 30d), or 'forever'") }
            policy.maxAge = .seconds(value * unit)
        }
        if retainCount == "unlimited" {
            policy.maxCount = nil
        } else {
            guard let count = Int(retainCount), count >= 0 else {
                throw ValidationError("--retain-count must be a non-negative number, or 'unlimited'")
            }
            policy.maxCount = count
        }
        return policy
    }

    /// Raises the soft limit of open files towards `wanted` (each connection is a descriptor), up to the hard
    /// limit; says so if that is not enough.
    static func raiseFileLimit(to wanted: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted)
        else { return }
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < rlim_t(wanted) {
            logger.warning(
                "the open-file limit is below --max-connections", metadata: ["limit": "\(limit.rlim_cur)"])
        }
    }

    static func makeDirectory(_ path: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
