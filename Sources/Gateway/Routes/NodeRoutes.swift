import JSON
import JobModel
import Jobs

/// `GET /nodes`, `POST /nodes` and `DELETE /nodes/{name}`: the block nodes jobs act on.
public struct NodeRoutes: Sendable {
    let catalog: NodeCatalog

    public init(catalog: NodeCatalog) {
        self.catalog = catalog
    }

    public func register(in router: inout Router) {
        router.deferred("GET", "/nodes") { [catalog] _ in
            Response.json(["nodes": .array(try await catalog.list())] as JSONValue)
        }
        router.deferred("POST", "/nodes") { [catalog] request in
            let node = try await catalog.add(.object(try request.jsonObject()))
            let name = node["node-name"]?.stringValue ?? ""
            return Response.json(node, status: 201, headers: [("Location", "/nodes/\(name)")])
        }
        router.deferred("DELETE", "/nodes/:name") { [catalog] request in
            try await catalog.remove(request.parameters["name"]!)
            return Response(status: 204)
        }
    }
}
