import Foundation
import JSON
import JobModel
import Jobs

/// An HTTP response: status, header fields, and a body of bytes, or a stream of events that the connection
/// serves for as long as it lasts.
public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    /// When set, the body is this stream (server-sent events) and `body` is ignored.
    public var stream: EventSubscription?

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body from a `JSONValue` (the fast path: no `JSONEncoder`).
    public static func json(_ value: JSONValue, status: Int = 200, headers: [(String, String)] = []) -> Response {
        var body = value.serialized()
        body.append(UInt8(ascii: "\n"))
        return Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// A JSON body from a job record.
    public static func json(_ record: JobRecord, status: Int = 200, headers: [(String, String)] = []) -> Response {
        json(record.json(now: Date()), status: status, headers: headers)
    }

    /// A plain-text body.
    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Data((text + "\n").utf8))
    }
}
