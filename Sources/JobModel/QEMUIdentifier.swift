/// QEMU's rule for the ids of jobs, nodes and objects (util/id.c `id_wellformed`, QEMU 7.2), and the longest
/// one jobgate keeps.
public enum QEMUIdentifier {
    /// The longest id jobgate accepts, in bytes. QEMU itself has no limit, but every part of jobgate's store must
    /// hold the id (record files, archive index, journal lines).
    public static let maximumLength = 128

    /// An ASCII letter, then letters, digits, `-`, `.`, `_`.
    public static func isWellFormed(_ id: String) -> Bool {
        guard let first = id.utf8.first, isLetter(first) else { return false }
        return id.utf8.allSatisfy {
            isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x2e || $0 == 0x5f
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }
}
