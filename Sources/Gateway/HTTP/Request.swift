import Foundation

/// An HTTP request as the handlers see it, copied out of libmicrohttpd.
public struct Request: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded by libmicrohttpd.
    public var path: String
    /// Query arguments (last one wins for repeated keys).
    public var query: [String: String]
    /// Header fields, names lower-cased.
    public var headers: [String: String]
    public var body: Data
    /// Path parameters filled in by the router (`:id` -> `id`).
    public var parameters: [String: String] = [:]
    /// Who sent it, by token name (`AccessControl`); nil without authentication.
    public var principal: Principal?
    /// The route pattern it matched (`/jobs/:id`), set by the router; nil if it matched none.
    public var route: String?

    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: Data = Data()
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}
