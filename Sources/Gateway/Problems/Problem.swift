import Foundation
import JSON
import JobModel

/// An RFC 9457 problem document (`application/problem+json`).
///
/// `type` is a stable URI per kind of problem (listed in openapi/openapi.yaml); `title` never varies per
/// instance; `detail` says what happened this time. Extension members carry machine-readable specifics
/// (`job-status`, `verb`, `allowed-verbs`, QMP's `class` and `desc`, ...).
public struct Problem: Error, Sendable, Equatable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var extensions: [String: JSONValue]
    /// Extra header fields (`Retry-After`, `Allow`).
    public var headers: [String: String]

    public init(
        _ kind: String, title: String, status: Int, detail: String, extensions: [String: JSONValue] = [:],
        headers: [String: String] = [:]
    ) {
        self.type = "urn:jobgate:problem:\(kind)"
        self.title = title
        self.status = status
        self.detail = detail
        self.extensions = extensions
        self.headers = headers
    }

    /// The problem as a response; `instance` is the request path.
    public func response(instance: String) -> Response {
        var document = extensions
        document["type"] = .string(type)
        document["title"] = .string(title)
        document["status"] = .int(Int64(status))
        document["detail"] = .string(detail)
        document["instance"] = .string(instance)
        var body = JSONValue.object(document).serialized()
        body.append(UInt8(ascii: "\n"))
        return Response(
            status: status,
            headers: [("Content-Type", "application/problem+json")] + headers.sorted { $0.key < $1.key },
            body: body)
    }
}

/// An error that knows its problem document. The router renders any thrown `ProblemConvertible`; anything else
/// becomes a 500 with a generic detail (the real error is logged).
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem {
    /// The one path from any error to problem+json: a `ProblemConvertible`'s problem, or `internal` (500) for
    /// anything else (`Responder.render` logs those).
    static func of(_ error: any Error) -> Problem {
        (error as? any ProblemConvertible)?.problem ?? .internalError()
    }
}

extension Problem: ProblemConvertible {
    public var problem: Problem { self }
}
