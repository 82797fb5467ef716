import Foundation

/// The checks every request passes before it is routed, and the CORS headers on every answer. Configured once at
/// start (the tokens themselves reload on SIGHUP); `check` runs on a libmicrohttpd thread and never waits.
///
/// In order: the `Host` header must name an address jobgate serves (421, against DNS rebinding; `/healthz` and
/// `/readyz` exempt, for probes that use a pod's IP); a request body must be JSON (415: browsers must then
/// preflight); a change whose `Origin` is neither jobgate's own nor a `--cors-origin` is 403; with tokens, a
/// request needs a bearer token (or, for event streams, a `ticket`), and a change an `operate` one (401 / 403).
public struct AccessControl: Sendable {
    /// Tokens in force; nil: no authentication (loopback only, or `--insecure-no-auth`).
    public var authenticator: Authenticator?
    public var tickets: EventTickets
    /// Host names (without port) the `Host` header may carry, lower-cased.
    public var allowedHosts: Set<String>
    /// Origins (`scheme://host[:port]`) that may use jobgate from a browser, exactly as sent.
    public var corsOrigins: Set<String>

    /// The request headers jobgate reads, offered to preflights.
    static let allowedRequestHeaders = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
    static let exposedHeaders = "Location, Idempotent-Replayed, Retry-After"
    static let probePaths: Set<String> = ["/healthz", "/readyz"]
    /// Answered without a token: the probes, and the API description.
    static let openPaths: Set<String> = probePaths.union(["/openapi.yaml"]).union(DashboardRoutes.paths)

    /// - Parameter listenHost: the address jobgate listens on; it, `localhost`, `127.0.0.1` and `::1` are always
    ///   allowed as `Host`.
    public init(
        authenticator: Authenticator? = nil, tickets: EventTickets = EventTickets(), listenHost: String = "127.0.0.1",
        allowedHosts: [String] = [], corsOrigins: [String] = []
    ) {
        self.authenticator = authenticator
        self.tickets = tickets
        let listen = listenHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        self.allowedHosts = Set(["localhost", "127.0.0.1", "::1", listen] + allowedHosts.map { $0.lowercased() })
        self.corsOrigins = Set(corsOrigins)
    }

    /// What to do with a request before routing.
    public enum Decision: Sendable {
        /// Go on, as this principal (nil without authentication), with `request` stripped of its ticket.
        case proceed(Request)
        case refuse(Problem)
    }

    static let readMethods: Set<String> = ["GET", "HEAD", "OPTIONS"]

    /// Checks `request` (not a preflight: see `preflight`).
    public func check(_ request: Request) -> Decision {
        var request = request
        if !Self.probePaths.contains(request.path), let host = request.headers["host"],
            !allowedHosts.contains(Self.hostName(host))
        {
            return .refuse(.misdirected(host: host))
        }
        if !request.body.isEmpty, !Self.isJSON(request.headers["content-type"]) {
            return .refuse(.unsupportedMediaType(request.headers["content-type"]))
        }
        let isChange = !Self.readMethods.contains(request.method)
        if isChange, let origin = request.headers["origin"], !isAllowed(origin: origin, host: request.headers["host"]) {
            return .refuse(.originNotAllowed(origin))
        }
        let ticket = request.query.removeValue(forKey: "ticket")
        if let ticket, !EventTickets.isWellFormed(ticket) {
            return .refuse(
                .invalidQuery("ticket", "'ticket' must be a ticket from POST /events/tickets (64 hex digits)"))
        }
        guard let authenticator, !Self.openPaths.contains(request.path) else { return .proceed(request) }
        var principal = authenticator.principal(authorization: request.headers["authorization"])
        if principal == nil, let ticket, request.method == "GET", isStream(request.path) {
            principal = tickets.redeem(ticket)
        }
        guard let principal else {
            let detail =
                request.headers["authorization"] == nil
                ? "this jobgate needs a bearer token: send 'Authorization: Bearer TOKEN' (event streams from a browser: ?ticket= from POST /events/tickets)"
                : "the bearer token is not known (or the ticket is used or expired)"
            return .refuse(.unauthorized(detail))
        }
        if isChange && principal.role != .operate && request.path != "/events/tickets" {
            return .refuse(.insufficientRole(principal))
        }
        request.principal = principal
        return .proceed(request)
    }

    /// The answer to `OPTIONS` on a path whose methods are `methods`: 204 with `Allow`, and for a CORS
    /// preflight from an allowed origin the `Access-Control-Allow-*` headers (`decorate` adds the origin).
    public func preflight(_ request: Request, methods: [String]) -> Response {
        let allow = (methods + ["OPTIONS"]).joined(separator: ", ")
        var response = Response(status: 204, headers: [("Allow", allow)])
        if let origin = request.headers["origin"], corsOrigins.contains(origin),
            request.headers["access-control-request-method"] != nil
        {
            response.headers += [
                ("Access-Control-Allow-Methods", allow),
                ("Access-Control-Allow-Headers", Self.allowedRequestHeaders),
                ("Access-Control-Max-Age", "600"),
            ]
        }
        return response
    }

    /// `response` with the CORS headers an allowed `Origin` gets (`Vary: Origin` always, when CORS is on).
    public func decorate(_ response: Response, for request: Request) -> Response {
        guard !corsOrigins.isEmpty else { return response }
        var response = response
        response.headers.append(("Vary", "Origin"))
        if let origin = request.headers["origin"], corsOrigins.contains(origin) {
            response.headers += [
                ("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", Self.exposedHeaders),
            ]
        }
        return response
    }

    private func isAllowed(origin: String, host: String?) -> Bool {
        if corsOrigins.contains(origin) { return true }
        guard let host else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }

    private func isStream(_ path: String) -> Bool {
        path == "/events" || (path.hasPrefix("/jobs/") && path.hasSuffix("/events"))
    }

    /// `host[:port]` or `[v6]:port` without the port, lower-cased.
    static func hostName(_ header: String) -> String {
        let value = header.lowercased()
        if value.hasPrefix("[") {
            return String(value.dropFirst().prefix { $0 != "]" })
        }
        return String(value.split(separator: ":", maxSplits: 1).first ?? "")
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let media = contentType.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces)
            .lowercased()
        return media == "application/json" || (media?.hasPrefix("application/") == true && media!.hasSuffix("+json"))
    }
}
