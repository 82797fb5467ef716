import Foundation
import Gateway
import Jobs
import OpenAPIKit
import QMP
import TestSupport
import Testing
import Yams

/// openapi/openapi.yaml is valid OpenAPI 3.1 and describes exactly the routes the router serves.
@Suite struct OpenAPISpecTests {
    static let specPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("openapi/openapi.yaml").path

    func loadSpec() throws -> OpenAPI.Document {
        let text = try String(contentsOfFile: Self.specPath, encoding: .utf8)
        return try YAMLDecoder().decode(OpenAPI.Document.self, from: text)
    }

    @Test("the spec parses and validates as OpenAPI 3.1")
    func specIsValid() throws {
        let document = try loadSpec()
        try document.validate()
        #expect(document.openAPIVersion == .v3_1_0)
    }

    @Test("every served route is in the spec, and every route in the spec is served")
    func routesMatchSpec() throws {
        let document = try loadSpec()
        var documented = Set<String>()
        for (path, item) in document.paths {
            guard let item = item.pathItemValue else { continue }
            for endpoint in item.endpoints {
                documented.insert("\(endpoint.method.rawValue.uppercased()) \(path.rawValue)")
            }
        }
        let served = Set(
            Self.router().routes.map { route in
                let path = route.pattern.split(separator: "/").map {
                    $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                }
                return "\(route.method) /\(path.joined(separator: "/"))"
            })
        #expect(
            served.subtracting(documented).isEmpty,
            "served but not in the spec: \(served.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(served).isEmpty,
            "in the spec but not served: \(documented.subtracting(served).sorted())")
        #expect(served.count >= 9)
    }

    @Test("GET /openapi.yaml serves this very file, without a token")
    func servedSpec() throws {
        let router = Self.router()
        guard case .found(let handler, _, _) = router.match(method: "GET", path: "/openapi.yaml"),
            case .immediate(let body) = handler
        else {
            Issue.record("GET /openapi.yaml is not an immediate route")
            return
        }
        let response = try body(Request(method: "GET", path: "/openapi.yaml"))
        #expect(response.status == 200)
        #expect(response.body == (try Data(contentsOf: URL(fileURLWithPath: Self.specPath))))
    }

    @Test("every operation but the open ones declares 401, all but the probes 421; every one with a body 415")
    func securityResponses() throws {
        let document = try loadSpec()
        for (path, item) in document.paths {
            guard let item = item.pathItemValue else { continue }
            for endpoint in item.endpoints {
                let codes = Set(endpoint.operation.responses.keys.compactMap { $0.rawValue })
                let name = "\(endpoint.method.rawValue.uppercased()) \(path.rawValue)"
                // Open without a token: the probes, the spec and the dashboard (`security: [{}]`).
                let open = [
                    "/healthz", "/readyz", "/openapi.yaml", "/", "/ui/dashboard.js", "/ui/dashboard.css",
                    "/ui/icon.svg",
                ]
                if !open.contains(path.rawValue) {
                    #expect(codes.contains("401"), "\(name) lacks 401")
                }
                if !["/healthz", "/readyz"].contains(path.rawValue) {
                    #expect(codes.contains("421"), "\(name) lacks 421")
                }
                if endpoint.operation.requestBody != nil { #expect(codes.contains("415"), "\(name) lacks 415") }
            }
        }
    }

    static func router() -> Router {
        let engine = ScriptedEngine()
        let status = EngineStatus()
        let manager = JobManager(
            engine: engine, policy: testPolicy(), status: status, events: EventHub(encoding: ServerSentEvents()),
            logger: .init(label: "test"))
        let policy = testPolicy()
        return GatewayRoutes.makeRouter(
            manager: manager, catalog: NodeCatalog(engine: engine, policy: policy),
            secrets: SecretCatalog(engine: engine))
    }
}
