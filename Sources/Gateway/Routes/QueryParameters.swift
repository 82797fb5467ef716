import Jobs

/// The checks every route's query string gets: only known parameters, and comma-separated lists of known values.
enum QueryParameters {
    /// - Throws: `Problem.invalidQuery` naming the first parameter not in `known`.
    static func requireKnown(_ query: [String: String], _ known: Set<String>) throws {
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw Problem.invalidQuery(
                unknown, "unknown query parameter '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
        }
    }

    /// The items of a comma-separated value, each turned into a `T` by `parse`.
    /// - Throws: `Problem.invalidQuery` naming `field`, for an empty item or one `parse` does not know.
    static func list<T>(_ text: String, field: String, parse: (String) -> T?) throws -> [T] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            guard !item.isEmpty, let value = parse(String(item)) else {
                throw Problem.invalidQuery(field, "'\(field)' has an unknown or empty value '\(item)'")
            }
            return value
        }
    }

    /// A boolean parameter: `true` or `false`, nothing else.
    /// - Throws: `Problem.invalidQuery` naming `field`.
    static func boolean(_ text: String?, field: String, default value: Bool) throws -> Bool {
        switch text {
        case nil: return value
        case "true": return true
        case "false": return false
        default: throw Problem.invalidQuery(field, "'\(field)' must be true or false, not '\(text!)'")
        }
    }
}
