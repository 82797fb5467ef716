import Foundation

/// A JSON document of any shape, as QMP and the HTTP bodies carry them.
///
/// Integers stay integers (`int`), so byte counts up to 2^63 - 1 survive a round trip exactly.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// The members if this is an object, else nil.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The elements if this is an array, else nil.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The text if this is a string, else nil.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The number if this is an integer (or a double with an exact integer value), else nil.
    public var intValue: Int64? {
        switch self {
        case .int(let number): number
        case .double(let number) where number.rounded() == number && abs(number) < 9.2e18: Int64(number)
        default: nil
        }
    }

    /// The number as a double if this is any number, else nil.
    public var doubleValue: Double? {
        switch self {
        case .int(let number): Double(number)
        case .double(let number): number
        default: nil
        }
    }

    /// The flag if this is a boolean, else nil.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// Member lookup on objects; nil for other shapes or a missing key.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// The JSON type name used in error messages ("object", "string", ...).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue {
    /// Parses UTF-8 JSON text (RFC 8259, nesting at most 256 deep).
    /// - Throws: an error whose description says what is wrong and at which byte.
    public static func parse(_ data: Data) throws -> JSONValue {
        var parser = JSONParser([UInt8](data))
        return try parser.parseDocument()
    }

    /// Serialises with sorted keys, so equal values give equal bytes.
    public func serialized() -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        JSONWriter.write(self, into: &bytes)
        return Data(bytes)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
