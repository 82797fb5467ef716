import JobModel
import QMP

#if canImport(Glibc)
    import Glibc
#endif

extension ImageRootPolicy {
    /// How a file handed to QEMU is opened.
    public enum OpenIntent: Sendable {
        /// An existing file, read-write where the file allows it and read-only as well (QEMU chooses from the
        /// fdset by access mode, and reopens read-only or read-write as jobs need).
        case existing
        /// A file a job creates: created with `O_EXCL` when it does not exist; an existing one is opened
        /// read-write, as QEMU's `file` driver would truncate it.
        case create
    }

    /// Opens `path` (a real path inside a root, as `resolve` returns) without following any symlink: from a
    /// handle of its root, one component at a time with `O_NOFOLLOW`, non-blocking, and keeps it only if it is a
    /// regular file (or a block device, when allowed). A symlink or special file put in place after `resolve`
    /// checked the path is refused here, so nothing outside the roots is opened or created.
    ///
    /// Called from any thread; does blocking file-system calls, never waits on a FIFO.
    /// - Returns: the open descriptors, read-write first; the caller owns and closes them.
    /// - Throws: `JobError.pathOutsideImageRoots` (a component is a symlink or not a directory),
    ///   `.notARegularFile`, or QEMU's own words for a file that cannot be opened
    ///   (`Could not open '...': No such file or directory`).
    public func open(_ path: String, field: String, named name: String, intent: OpenIntent) throws -> [Int32] {
        guard
            let root = roots.filter({ path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") })
                .max(by: { $0.count < $1.count }), path != root
        else { throw JobError.pathOutsideImageRoots(field: field, path: name) }
        let components = path.dropFirst(root.count).split(separator: "/").map(String.init)
        var directory = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw openFailure(name, field: field) }
        defer { close(directory) }
        for component in components.dropLast() {
            let next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else { throw JobError.pathOutsideImageRoots(field: field, path: name) }
            close(directory)
            directory = next
        }
        let last = components.last!
        var status = stat()
        if fstatat(directory, last, &status, AT_SYMLINK_NOFOLLOW) == 0 {
            // `resolve` returned a path without symlinks: one here now was put in place since.
            guard status.st_mode & S_IFMT != S_IFLNK else {
                throw JobError.pathOutsideImageRoots(field: field, path: name)
            }
            try requireOpenable(mode: status.st_mode, named: name, field: field)
        }
        let flags = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
        var descriptors: [Int32] = []
        switch intent {
        case .create:
            var created = openat(directory, last, O_RDWR | O_CREAT | O_EXCL | flags, 0o644)
            if created < 0 && errno == EEXIST { created = openat(directory, last, O_RDWR | flags) }
            guard created >= 0 else { throw openFailure(name, field: field) }
            descriptors = [created]
        case .existing:
            let readWrite = openat(directory, last, O_RDWR | flags)
            if readWrite >= 0 { descriptors.append(readWrite) }
            let readOnly = openat(directory, last, O_RDONLY | flags)
            guard readOnly >= 0 else {
                let failure = openFailure(name, field: field)
                descriptors.forEach { _ = close($0) }
                throw failure
            }
            descriptors.append(readOnly)
        }
        do {
            for descriptor in descriptors {
                guard fstat(descriptor, &status) == 0 else { throw openFailure(name, field: field) }
                try requireOpenable(mode: status.st_mode, named: name, field: field)
                // QEMU sets the flags it wants on its duplicate; a regular file never blocks anyway.
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            }
        } catch {
            descriptors.forEach { _ = close($0) }
            throw error
        }
        return descriptors
    }

    /// A symlink where a real path was checked means the tree changed under jobgate: refused like an escape.
    private func openFailure(_ name: String, field: String) -> JobError {
        if errno == ELOOP || errno == ENOTDIR { return .pathOutsideImageRoots(field: field, path: name) }
        let reason = String(cString: strerror(errno))
        let refusal = EngineRefusal(errorClass: "GenericError", description: "Could not open '\(name)': \(reason)")
        return .engine(.refused(refusal), operation: .create)
    }
}
