import JobModel
import Jobs

/// `/jobs`, `/jobs/{id}`, `/jobs/{id}/{verb}` and `/transactions`.
public struct JobRoutes: Sendable {
    let manager: JobManager

    public init(manager: JobManager) {
        self.manager = manager
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/jobs") { [manager] _ in
            Response.json(JobList(jobs: manager.book.all()))
        }
        router.deferred("POST", "/jobs") { [manager] request in
            let original = try request.jsonObject()
            var body = original
            guard let typeName = body.removeValue(forKey: "type") else {
                throw JobError.invalidField(field: "type", detail: "'type' is required")
            }
            guard let type = typeName.stringValue.flatMap(JobType.init(rawValue:)) else {
                throw JobError.invalidField(
                    field: "type",
                    detail: "'type' must be one of \(JobType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let id = body.removeValue(forKey: "id")?.stringValue else {
                throw JobError.invalidField(field: "id", detail: "'id' is required and must be a string")
            }
            if body["job-id"] != nil {
                throw JobError.invalidField(field: "job-id", detail: "give the job's id as 'id', not 'job-id'")
            }
            let record = try await manager.create(
                type: type, id: id, arguments: body, request: .object(original))
            return Response.json(record, status: 201, headers: [("Location", "/jobs/\(id)")])
        }
        router.deferred("POST", "/transactions") { [manager] request in
            let records = try await manager.runTransaction(try request.jsonObject())
            return Response.json(JobList(jobs: records), status: records.isEmpty ? 200 : 201)
        }
        router.deferred("GET", "/jobs/:id") { [manager] request in
            let id = request.parameters["id"]!
            if request.query["stats"] == "false" {
                guard let record = manager.book.record(id) else { throw JobError.unknownJob(id) }
                return Response.json(record)
            }
            return Response.json(try await manager.refresh(id))
        }
        router.deferred("POST", "/jobs/:id/:verb") { [manager] request in
            let id = request.parameters["id"]!
            let name = request.parameters["verb"]!
            guard let verb = JobVerb(rawValue: name) else {
                throw Problem(
                    "unknown-verb", title: "No such verb", status: 404,
                    detail:
                        "'\(name)' is not a job verb; verbs: \(JobVerb.allCases.map(\.rawValue).joined(separator: ", "))",
                    extensions: ["verb": .string(name)])
            }
            let record = try await manager.apply(verb, to: id, body: try request.jsonObject(emptyIsEmptyObject: true))
            return Response.json(record, status: 202)
        }
    }
}

/// The body of `GET /jobs`.
struct JobList: Encodable {
    var jobs: [JobRecord]
}
