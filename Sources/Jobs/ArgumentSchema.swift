import JSON
import JobModel

/// The shape of a QMP command's arguments, checked before anything reaches QEMU so a client learns which field is
/// wrong in jobgate's words rather than QEMU's.
public struct ArgumentSchema: Sendable {
    /// What one field may hold.
    public enum Kind: Sendable {
        case string
        case integer(minimum: Int64?)
        /// A `speed` (bytes per second): an integer, refused in QEMU's words when negative.
        case speed
        case boolean
        /// One of QAPI's enum strings.
        case oneOf([String])
        /// Any JSON object (checked elsewhere, if at all).
        case object
        /// An array of strings (node names).
        case strings
        /// Any JSON array.
        case array
        /// A QAPI `BlockdevRef`: a node name, or an inline object (checked by the image-root policy).
        case nodeReference
        /// A nested object with a schema of its own.
        indirect case nested(ArgumentSchema)
        /// A QAPI flat union: the object's `tag` member picks the schema.
        indirect case union(tag: String, [String: ArgumentSchema])
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

    /// Checks one value against `kind`; `field` names it in errors.
    /// - Throws: `JobError.invalidField`.
    static func check(_ value: JSONValue, against kind: Kind, field: String) throws {
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
        case .speed:
            guard let number = value.intValue else { throw mismatch(field, "an integer", value) }
            if number < 0 {
                throw JobError.inQEMUWords(
                    .invalidField(field: field, detail: "'\(field)' must be at least 0, got \(number)"),
                    QEMUWording.negativeSpeed)
            }
        case .strings:
            guard let elements = value.arrayValue, elements.allSatisfy({ $0.stringValue != nil }) else {
                throw mismatch(field, "an array of strings", value)
            }
        case .array:
            guard value.arrayValue != nil else { throw mismatch(field, "an array", value) }
        case .nodeReference:
            guard value.stringValue != nil || value.objectValue != nil else {
                throw mismatch(field, "a node name or an object", value)
            }
        case .nested(let schema):
            guard let object = value.objectValue else { throw mismatch(field, "an object", value) }
            try schema.validate(object, prefix: field + ".")
        case .union(let tag, let variants):
            guard let object = value.objectValue else { throw mismatch(field, "an object", value) }
            guard let name = object[tag]?.stringValue, let schema = variants[name] else {
                throw JobError.invalidField(
                    field: "\(field).\(tag)",
                    detail: "'\(field).\(tag)' must be one of \(variants.keys.sorted().joined(separator: ", "))")
            }
            var rest = object
            rest[tag] = nil
            try schema.validate(rest, prefix: field + ".")
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
