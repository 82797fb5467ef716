import Foundation

/// `GET /openapi.yaml`: the API description, openapi/openapi.yaml as it was when jobgate was built (embedded by
/// the EmbedOpenAPI build plugin). Open without a token, like the probes: generated clients fetch it.
public struct SpecRoutes: Sendable {
    public init() {}

    public func register(in router: inout Router) {
        let body = Data(OpenAPISpec.text.utf8)
        router.immediate("GET", "/openapi.yaml") { _ in
            Response(
                status: 200, headers: [("Content-Type", "application/yaml"), ("Cache-Control", "no-cache")], body: body)
        }
    }
}
