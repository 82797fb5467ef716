extension Problem {
    static func misdirected(host: String) -> Problem {
        Problem(
            "misdirected-request", title: "Host not served here", status: 421,
            detail:
                "the Host header '\(host)' is not an address jobgate serves; add it with --allowed-host if clients really use that name (DNS rebinding is refused)",
            extensions: ["host": .string(host)])
    }

    static func unsupportedMediaType(_ contentType: String?) -> Problem {
        Problem(
            "unsupported-media-type", title: "Request body must be JSON", status: 415,
            detail:
                "a request body must be sent as Content-Type: application/json; got \(contentType.map { "'\($0)'" } ?? "none")",
            headers: ["Accept-Post": "application/json"])
    }

    static func originNotAllowed(_ origin: String) -> Problem {
        Problem(
            "origin-not-allowed", title: "Origin not allowed", status: 403,
            detail:
                "a change from a page at '\(origin)' is refused; allow that origin with --cors-origin if it is yours",
            extensions: ["origin": .string(origin)])
    }

    static func unauthorized(_ detail: String) -> Problem {
        Problem(
            "unauthorized", title: "Authentication required", status: 401, detail: detail,
            headers: ["WWW-Authenticate": #"Bearer realm="jobgate""#])
    }

    static func insufficientRole(_ principal: Principal) -> Problem {
        Problem(
            "insufficient-role", title: "Token may only read", status: 403,
            detail:
                "the token '\(principal.name)' has the role 'read': it may use GET routes and event streams; changes need an 'operate' token",
            extensions: ["token-name": .string(principal.name), "role": .string(principal.role.rawValue)])
    }
}
