/// The route table: method + path pattern -> handler. Built once at start-up, read-only afterwards.
///
/// Patterns are literal segments and `:name` parameters (`/jobs/:id/:verb`). A handler is either *immediate*
/// (answers from jobgate's own state; runs on the libmicrohttpd thread, so it must not block or wait) or
/// *deferred* (may talk to QEMU; the connection is suspended and the handler runs as a Swift task), or *either*:
/// an immediate handler that answers when jobgate's own state suffices and returns nil to pass the request to
/// its deferred one.
public struct Router: Sendable {
    public typealias ImmediateHandler = @Sendable (Request) throws -> Response
    public typealias DeferredHandler = @Sendable (Request) async throws -> Response
    /// An immediate handler that may decline (nil) in favour of a deferred one.
    public typealias OptionalImmediateHandler = @Sendable (Request) throws -> Response?

    public enum Handler: Sendable {
        case immediate(ImmediateHandler)
        case deferred(DeferredHandler)
        case either(OptionalImmediateHandler, otherwise: DeferredHandler)
    }

    public struct Route: Sendable {
        public var method: String
        public var pattern: String
        var segments: [Substring]
        var handler: Handler
    }

    /// What `match` found.
    public enum Match: Sendable {
        case found(Handler, parameters: [String: String], pattern: String)
        /// The path exists with other methods.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds a route answered from jobgate's own state, on the libmicrohttpd thread.
    public mutating func immediate(_ method: String, _ pattern: String, _ handler: @escaping ImmediateHandler) {
        add(method, pattern, .immediate(handler))
    }

    /// Adds a route whose handler may wait (QMP round trips); it runs off the libmicrohttpd threads.
    public mutating func deferred(_ method: String, _ pattern: String, _ handler: @escaping DeferredHandler) {
        add(method, pattern, .deferred(handler))
    }

    /// Adds a route answered on the libmicrohttpd thread when `immediate` can (non-nil), else by `otherwise` in a
    /// Swift task.
    public mutating func either(
        _ method: String, _ pattern: String, immediate: @escaping OptionalImmediateHandler,
        otherwise: @escaping DeferredHandler
    ) {
        add(method, pattern, .either(immediate, otherwise: otherwise))
    }

    private mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        routes.append(Route(method: method, pattern: pattern, segments: Self.split(pattern), handler: handler))
    }

    /// Finds the handler for `method` and `path`. Where several patterns bind the path, the most specific win (a
    /// literal segment beats a parameter: `/jobs/:id/history` over `/jobs/:id/:verb`), so each path has exactly
    /// its own methods.
    public func match(method: String, path: String) -> Match {
        let candidates = routes(for: path)
        let method = method == "HEAD" ? "GET" : method
        if let route = candidates.first(where: { $0.route.method == method }) {
            return .found(route.route.handler, parameters: route.parameters, pattern: route.route.pattern)
        }
        return candidates.isEmpty ? .notFound : .methodNotAllowed(allowed: candidates.map(\.route.method))
    }

    /// The methods `path` answers (for `OPTIONS` and `Allow`), most specific patterns only.
    public func methods(for path: String) -> [String] {
        routes(for: path).map(\.route.method)
    }

    private func routes(for path: String) -> [(route: Route, parameters: [String: String])] {
        let segments = Self.split(path)
        let bound = routes.compactMap { route in
            Self.bind(route.segments, to: segments).map { (route: route, parameters: $0) }
        }
        return bound.filter { candidate in
            !bound.contains { Self.isMoreSpecific($0.route.segments, than: candidate.route.segments) }
        }
    }

    /// Whether `pattern` has a literal wherever `other` has one, and at least one more.
    private static func isMoreSpecific(_ pattern: [Substring], than other: [Substring]) -> Bool {
        var more = false
        for (mine, theirs) in zip(pattern, other) {
            let mineIsParameter = mine.hasPrefix(":")
            let theirsIsParameter = theirs.hasPrefix(":")
            if mineIsParameter && !theirsIsParameter { return false }
            if !mineIsParameter && theirsIsParameter { more = true }
        }
        return more
    }

    private static func bind(_ pattern: [Substring], to segments: [Substring]) -> [String: String]? {
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, segments) {
            if expected.hasPrefix(":") {
                parameters[String(expected.dropFirst())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }

    private static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
