import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The data directory's permissions: it holds the clients' requests (in records and the journal), so it is
/// private to jobgate's user.
///
/// Directories jobgate creates in it are 0700 and files 0600 (`fileMode`); a data directory that group or others
/// can write is refused at start, since whoever can write it can change what jobgate replays.
public enum DataDirectory {
    /// The mode of every file jobgate writes in the data directory.
    static let fileMode: mode_t = 0o600
    /// The mode of every directory jobgate creates there.
    static let directoryMode: mode_t = 0o700

    /// Creates the data directory (0700, parents as needed) or checks an existing one.
    /// - Returns: its absolute, standardised path.
    /// - Throws: `StoreError.unsafeDataDirectory` if group or others can write it; `StoreError.io`.
    public static func prepare(_ path: String) throws -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        try makePrivateDirectory(absolute)
        var status = stat()
        guard stat(absolute, &status) == 0 else {
            throw StoreError.io(step: "stat \(absolute)", reason: AtomicFile.lastError())
        }
        guard status.st_mode & 0o022 == 0 else {
            throw StoreError.unsafeDataDirectory(path: absolute, mode: Int(status.st_mode & 0o7777))
        }
        return absolute
    }

    /// Creates `path` (and missing parents) with mode 0700; an existing directory is left as it is.
    /// - Throws: `StoreError.io`.
    static func makePrivateDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: Int(directoryMode)])
        } catch {
            throw StoreError.io(step: "create directory \(path)", reason: "\(error.localizedDescription)")
        }
    }
}
