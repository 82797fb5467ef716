import JobModel

/// The shape of a QMP command's arguments, checked before anything reaches QEMU so a client learns which field is
/// wrong in jobgate's words rather than QEMU's.
public struct ArgumentSchema: Sendable {
    /// What one field may hold.
    public enum Kind: Sendable {
        case string
        case integer(minimum: Int64?)
        case boolean
        /// One of QAPI's enum strings.
        case oneOf([String])
        /// Any JSON object (checked elsewhere, if at all).
        case object
    }

    public var fields: [String: Kind]
    public var required: Set<String>

    public init(fields: [String: Kind], required: Set<String>) {
        self.fields = fields
        self.required = required
    }

    /// Checks `arguments` against the schema.
    /// - Throws: `JobError.invalidField` naming the first offending field (in sorted order, so answers repeat).
    public func validate(_ arguments: [String: JSONValue], prefix: String = "") throws {
        for name in required.sorted() where arguments[name] == nil {
            throw JobError.invalidField(field: prefix + name, detail: "'\(prefix + name)' is required")
        }
        for (name, value) in arguments.sorted(by: { $0.key < $1.key }) {
            guard let kind = fields[name] else {
                let known = fields.keys.sorted().joined(separator: ", ")
                throw JobError.invalidField(
                    field: prefix + name, detail: "unknown field '\(prefix + name)'; known fields: \(known)")
            }
            try Self.check(value, against: kind, field: prefix + name)
        }
    }

    private static func check(_ value: JSONValue, against kind: Kind, field: String) throws {
        switch kind {
        case .string:
            guard value.stringValue != nil else { throw mismatch(field, "a string", value) }
        case .boolean:
            guard value.boolValue != nil else { throw mismatch(field, "a boolean", value) }
        case .object:
            guard value.objectValue != nil else { throw mismatch(field, "an object", value) }
        case .integer(let minimum):
            guard let number = value.intValue else { throw mismatch(field, "an integer", value) }
            if let minimum, number < minimum {
                throw JobError.invalidField(
                    field: field, detail: "'\(field)' must be at least \(minimum), got \(number)")
            }
        case .oneOf(let choices):
            guard let text = value.stringValue, choices.contains(text) else {
                throw JobError.invalidField(
                    field: field, detail: "'\(field)' must be one of \(choices.joined(separator: ", "))")
            }
        }
    }

    private static func mismatch(_ field: String, _ expected: String, _ value: JSONValue) -> JobError {
        .invalidField(field: field, detail: "'\(field)' must be \(expected), got \(value.typeName)")
    }
}
