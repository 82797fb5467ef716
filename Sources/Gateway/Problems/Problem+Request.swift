extension Problem {
    /// A query parameter jobgate does not know, or whose value it cannot use (400 `invalid-query`).
    /// A path jobgate refuses to read (400 `invalid-path`).
    static func invalidPath(_ detail: String) -> Problem {
        Problem("invalid-path", title: "Invalid request path", status: 400, detail: detail)
    }

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
}
