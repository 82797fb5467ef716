/// The request target as jobgate takes it: exact paths, and query values decoded in full.
///
/// libmicrohttpd decodes the URL and the query arguments with jobgate's unescape callback
/// (`cmhd_unescape_keeping_separators` in CMicroHTTPD/shim.h), which leaves `%00`, `%2F` and `%25` escaped. A path
/// holding an encoded NUL or `/` is refused here (400): decoded, the first would cut the path short and the second
/// split a segment, so `DELETE /nodes/src%00junk` would detach `src` and `GET /jobs/c0%2fhistory` serve the history
/// of `c0`. Called on a libmicrohttpd thread; pure.
enum RequestTarget {
    /// The escapes the unescape callback keeps.
    private static let nul = "%00"
    private static let slashes = ["%2F", "%2f"]
    private static let percent = "%25"

    /// The refusal of a path holding an encoded NUL byte or `/`, or nil if the path is exact.
    static func problem(path: String) -> Problem? {
        let what: String
        if path.contains(nul) {
            what = "a NUL byte (%00)"
        } else if slashes.contains(where: path.contains) {
            what = "an encoded '/' (%2F) inside a segment"
        } else {
            return nil
        }
        return .invalidPath("the request path holds \(what); paths must name their segments exactly")
    }

    /// The refusal of query arguments holding an encoded NUL byte, or nil.
    static func problem(query: [String: String]) -> Problem? {
        guard let name = query.first(where: { $0.key.contains(nul) || $0.value.contains(nul) })?.key else {
            return nil
        }
        return .invalidQuery(
            name, "the query parameter '\(name.replacingOccurrences(of: nul, with: "\\0"))' holds a NUL byte (%00)")
    }

    /// The path with the `%25` the unescape callback kept decoded (after `problem(path:)` found it exact).
    static func decoded(path: String) -> String {
        path.replacingOccurrences(of: percent, with: "%")
    }

    /// Query arguments with the escapes the unescape callback kept decoded: in a value, `/` is just a character.
    static func decoded(query: [String: String]) -> [String: String] {
        guard query.contains(where: { $0.key.contains("%") || $0.value.contains("%") }) else { return query }
        func decode(_ text: String) -> String {
            text.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%2f", with: "/")
                .replacingOccurrences(of: percent, with: "%")
        }
        return Dictionary(query.map { (decode($0.key), decode($0.value)) }, uniquingKeysWith: { _, last in last })
    }
}
