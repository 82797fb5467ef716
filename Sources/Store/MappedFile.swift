import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Read-only memory maps of files jobgate never truncates or rewrites in place (archive data files: they only
/// grow, and are replaced by writing a new file). A mapping lives as long as any `Data` sliced from it.
enum MappedFile {
    /// Maps the whole file at `path` as it is now; bytes appended later are not part of the mapping.
    /// - Throws: `StoreError.io`.
    static func map(path: String) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw StoreError.io(step: "open \(path)", reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw StoreError.io(step: "stat \(path)", reason: String(cString: strerror(errno)))
        }
        let size = Int(status.st_size)
        guard size > 0 else { return Data() }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw StoreError.io(step: "mmap \(path)", reason: String(cString: strerror(errno)))
        }
        return Data(bytesNoCopy: address, count: size, deallocator: .custom { address, size in munmap(address, size) })
    }

    /// The whole file at `path` as bytes, or nil if it does not exist.
    /// - Throws: `StoreError.io` for any other failure.
    static func read(_ path: String) throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if access(path, F_OK) != 0 && errno == ENOENT { return nil }
            throw StoreError.io(step: "read \(path)", reason: "cannot read the file")
        }
        return [UInt8](data)
    }
}
