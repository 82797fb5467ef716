import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The parts of a qcow2 header that make QEMU open other files by itself: the backing file name, its format,
/// and an external data file (QEMU `docs/interop/qcow2.txt`).
struct QcowHeader: Equatable {
    var backingFile: String?
    var backingFormat: String?
    var dataFile: String?

    private static let magic: UInt32 = 0x5146_49fb  // "QFI\xfb"
    private static let backingFormatExtension: UInt32 = 0xe279_2aca
    private static let dataFileExtension: UInt32 = 0x4441_5441

    /// Reads the header of the file at `path`.
    /// - Returns: nil if the file is not qcow2 (or cannot be read: QEMU will then fail to open it anyway).
    /// Opened non-blocking, and read only if it is a regular file: a FIFO put in its place after the policy's
    /// check cannot block the caller.
    static func read(path: String) -> QcowHeader? {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        var bytes = [UInt8](repeating: 0, count: 65_536)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        guard count > 0 else { return nil }
        return parse(Array(bytes[0..<count]))
    }

    /// Parses a header from the first bytes of an image (64 KiB cover every header QEMU writes).
    static func parse(_ bytes: [UInt8]) -> QcowHeader? {
        guard bytes.count >= 72, u32(bytes, 0) == magic else { return nil }
        let version = u32(bytes, 4)
        var header = QcowHeader()
        let backingOffset = Int(clamping: u64(bytes, 8))
        let backingSize = Int(u32(bytes, 16))
        if backingOffset > 0 && backingSize > 0 {
            guard backingOffset + backingSize <= bytes.count else {
                // A name we cannot read is a name we cannot check: report it as unreadable.
                return QcowHeader(backingFile: "(unreadable backing file name)")
            }
            header.backingFile = String(decoding: bytes[backingOffset..<backingOffset + backingSize], as: UTF8.self)
        }
        var offset = version >= 3 && bytes.count >= 104 ? Int(u32(bytes, 100)) : 72
        while offset + 8 <= bytes.count {
            let type = u32(bytes, offset)
            let length = Int(u32(bytes, offset + 4))
            guard type != 0, offset + 8 + length <= bytes.count else { break }
            let data = bytes[(offset + 8)..<(offset + 8 + length)]
            switch type {
            case backingFormatExtension: header.backingFormat = String(decoding: data, as: UTF8.self)
            case dataFileExtension: header.dataFile = String(decoding: data, as: UTF8.self)
            default: break
            }
            offset += 8 + (length + 7) / 8 * 8
        }
        return header
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        bytes[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
