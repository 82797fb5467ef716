import JSON
import JobModel
import Jobs

/// `POST /secrets` and `DELETE /secrets/{id}`. The secret's data is never echoed.
public struct SecretRoutes: Sendable {
    let catalog: SecretCatalog

    public init(catalog: SecretCatalog) {
        self.catalog = catalog
    }

    public func register(in router: inout Router) {
        router.deferred("POST", "/secrets") { [catalog] request in
            let id = try await catalog.add(try request.jsonObject())
            return Response.json(
                ["id": .string(id)] as JSONValue, status: 201, headers: [("Location", "/secrets/\(id)")])
        }
        router.deferred("DELETE", "/secrets/:id") { [catalog] request in
            try await catalog.remove(request.parameters["id"]!)
            return Response(status: 204)
        }
    }
}
