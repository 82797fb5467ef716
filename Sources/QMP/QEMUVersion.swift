/// A QEMU release number, as the QMP greeting reports it.
public struct QEMUVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var micro: Int

    public init(major: Int, minor: Int, micro: Int = 0) {
        self.major = major
        self.minor = minor
        self.micro = micro
    }

    public static func < (lhs: QEMUVersion, rhs: QEMUVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.micro) < (rhs.major, rhs.minor, rhs.micro)
    }

    public var description: String { "\(major).\(minor).\(micro)" }

    /// `block-job-change`, and with it the `change` verb, exist from QEMU 8.2 on.
    public static let blockJobChange = QEMUVersion(major: 8, minor: 2)
    /// `qmp_transaction` checks every action against `completion-mode` before preparing any (and in lower case).
    public static let groupedCheckUpFront = QEMUVersion(major: 8, minor: 1)
}
