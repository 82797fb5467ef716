import Jobs

/// The checks every route's query string gets: only known parameters, and comma-separated lists of known values.
enum QueryParameters {
    /// - Throws: `JobError.invalidField` naming the first parameter not in `known`.
    static func requireKnown(_ query: [String: String], _ known: Set<String>) throws {
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw JobError.invalidField(
                field: unknown,
                detail: "unknown query parameter '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
        }
    }

    /// The items of a comma-separated value, each turned into a `T` by `parse`.
    /// - Throws: `JobError.invalidField` naming `field`, for an empty item or one `parse` does not know.
    static func list<T>(_ text: String, field: String, parse: (String) -> T?) throws -> [T] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            guard !item.isEmpty, let value = parse(String(item)) else {
                throw JobError.invalidField(field: field, detail: "'\(field)' has an unknown or empty value '\(item)'")
            }
            return value
        }
    }
}
