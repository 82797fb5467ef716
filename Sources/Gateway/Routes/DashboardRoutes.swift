import Foundation

/// The dashboard: `GET /` (dashboard/index.html) and its assets under `/ui/` (script, style, icon), embedded at build time (the
/// EmbedOpenAPI plugin). Open without a token, like the spec: they hold no data; the page asks for a token when
/// the API wants one. Every answer carries a Content-Security-Policy that lets the page reach jobgate's own origin
/// only (no inline script or style, no other host), so it works offline and nothing it shows can load from
/// elsewhere.
public struct DashboardRoutes: Sendable {
    /// What the page may load and connect to: its own origin, nothing else.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The paths served, open without a token (`AccessControl.openPaths`).
    static let paths: Set<String> = ["/", "/ui/dashboard.js", "/ui/dashboard.css", "/ui/icon.svg"]

    public init() {}

    public func register(in router: inout Router) {
        for (path, type, text) in [
            ("/", "text/html; charset=utf-8", DashboardPage.text),
            ("/ui/dashboard.js", "text/javascript; charset=utf-8", DashboardScript.text),
            ("/ui/dashboard.css", "text/css; charset=utf-8", DashboardStyle.text),
            ("/ui/icon.svg", "image/svg+xml", DashboardIcon.text),
        ] {
            let body = Data(text.utf8)
            router.immediate("GET", path) { _ in
                Response(
                    status: 200,
                    headers: [
                        ("Content-Type", type), ("Cache-Control", "no-cache"),
                        ("Content-Security-Policy", Self.contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
                        ("Referrer-Policy", "no-referrer"),
                    ], body: body)
            }
        }
    }
}
