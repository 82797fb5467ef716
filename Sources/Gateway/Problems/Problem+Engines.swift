extension Problem {
    /// `GET /engines/{name}` for an engine jobgate does not drive.
    static func unknownEngine(_ name: String, known: [String]) -> Problem {
        Problem(
            "unknown-engine", title: "No such engine", status: 404,
            detail: "no engine named '\(name)'; engines: \(known.joined(separator: ", "))",
            extensions: ["engine": .string(name)])
    }
}
