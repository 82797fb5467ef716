import Foundation
import JobModel

extension Problem {
    /// A path jobgate refuses to read (400 `invalid-path`).
    static func invalidPath(_ detail: String) -> Problem {
        Problem("invalid-path", title: "Invalid request path", status: 400, detail: detail)
    }

    /// A query parameter jobgate does not know, or whose value it cannot use (400 `invalid-query`).
    static func invalidQuery(_ parameter: String, _ detail: String) -> Problem {
        Problem(
            "invalid-query", title: "Invalid query parameter", status: 400, detail: detail,
            extensions: ["parameter": .string(parameter)])
    }

    /// A request header whose value jobgate cannot use (400 `invalid-header`).
    static func invalidHeader(_ header: String, _ detail: String) -> Problem {
        Problem(
            "invalid-header", title: "Invalid request header", status: 400, detail: detail,
            extensions: ["header": .string(header)])
    }

    /// A request target longer than jobgate reads (414 `target-too-long`).
    static func targetTooLong(length: Int, limit: Int) -> Problem {
        Problem(
            "target-too-long", title: "Request target too long", status: 414,
            detail: "the request target is \(length) bytes long; jobgate takes at most \(limit)",
            extensions: ["limit": .int(Int64(limit))])
    }

    /// Header fields larger than jobgate reads (431 `headers-too-large`).
    static func headersTooLarge(length: Int, limit: Int) -> Problem {
        Problem(
            "headers-too-large", title: "Request header fields too large", status: 431,
            detail: "the request's header fields hold \(length) bytes; jobgate takes at most \(limit)",
            extensions: ["limit": .int(Int64(limit))])
    }

    /// An `Idempotency-Key` first used with another body (422 `idempotency-key-reused`).
    static func idempotencyKeyReused(_ key: String) -> Problem {
        Problem(
            "idempotency-key-reused", title: "Idempotency-Key reused with another body", status: 422,
            detail: "the Idempotency-Key '\(key)' was first used with a different request body")
    }

    /// An `Idempotency-Key` whose first request is still being handled (409 `idempotency-key-in-progress`).
    static func idempotencyKeyInProgress(_ key: String) -> Problem {
        Problem(
            "idempotency-key-in-progress", title: "Request with this Idempotency-Key in progress", status: 409,
            detail: "a request with the Idempotency-Key '\(key)' is still being handled; retry shortly",
            headers: ["Retry-After": "1"])
    }

    /// The QEMU engine cannot take commands now (503 `engine-unavailable`, retry in 2 s); `since`: when it stopped
    /// answering, if it did.
    static func engineUnavailable(_ detail: String, since: Date? = nil) -> Problem {
        Problem(
            "engine-unavailable", title: "QEMU engine unavailable", status: 503, detail: detail,
            extensions: since.map { ["since": .string(Timestamp.format($0))] } ?? [:], headers: ["Retry-After": "2"])
    }
}
