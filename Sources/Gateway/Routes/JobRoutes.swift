import Foundation
import JSON
import JobModel
import Jobs

/// `/jobs`, `/jobs/{id}`, `/jobs/{id}/<verb>` for each of QEMU's verbs, and `/transactions`.
public struct JobRoutes: Sendable {
    let manager: JobManager
    let idempotency: Idempotency

    /// - Parameter ledger: where `Idempotency-Key` answers are kept; nil ignores the header.
    public init(manager: JobManager, ledger: (any IdempotencyStoring)?) {
        self.manager = manager
        self.idempotency = Idempotency(ledger: ledger)
    }

    public func register(in router: inout Router) {
        router.immediate("GET", "/jobs") { [manager] request in
            try manager.book.requireRestored()
            let query = try JobListQuery(request.query)
            let page = manager.book.page(after: query.cursor, limit: query.limit, matching: query.matches)
            let next = page.next.map { JSONValue.string(JobListQuery.encodeCursor($0)) } ?? .null
            let now = Date()
            var body = Data(#"{"event-cursor":"#.utf8) + JSONValue.string(page.eventCursor).serialized()
            body += Data(#","jobs":["#.utf8)
            for (index, item) in page.records.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                if query.summary {
                    body += JobListQuery.summary(item.record).serialized()
                } else {
                    body += item.json ?? manager.book.text(of: item.record, now: now)
                }
            }
            body += Data(#"],"next-cursor":"#.utf8) + next.serialized() + Data("}\n".utf8)
            return Response(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
        router.immediate("GET", "/jobs/:id/history") { [manager] request in
            try manager.book.requireRestored()
            let id = request.parameters["id"]!
            let runs = manager.book.runs(of: id)
            guard !runs.isEmpty else { throw JobError.unknownJob(id) }
            let now = Date()
            var body = Data(#"{"runs":["#.utf8)
            for (index, run) in runs.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body += manager.book.text(of: run, now: now)
            }
            body += Data("]}\n".utf8)
            return Response(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
        router.deferred("POST", "/jobs") { [manager, idempotency] request in
            try await idempotency.run(request, scope: "jobs") { try await Self.create(request, manager: manager) }
        }
        router.deferred("POST", "/transactions") { [manager, idempotency] request in
            try await idempotency.run(request, scope: "transactions") {
                let records = try await manager.runTransaction(
                    try request.jsonObject(), createdBy: request.principal?.name)
                let now = Date()
                return Response.json(
                    ["jobs": .array(records.map { $0.json(now: now) })], status: records.isEmpty ? 200 : 201)
            }
        }
        // On the spot when jobgate's own state answers: `?stats=false`, a job that has ended, or a live one whose
        // figures the progress poller read from QEMU within `freshSample` and since its last status change;
        // otherwise a refresh from QEMU, shared by the requests that arrive while it runs.
        router.either(
            "GET", "/jobs/:id",
            immediate: { [manager] request in
                let id = request.parameters["id"]!
                try QueryParameters.requireKnown(request.query, ["stats"])
                let stats = try QueryParameters.boolean(request.query["stats"], field: "stats", default: true)
                try manager.book.requireRestored()
                guard let record = manager.book.record(id) else { throw JobError.unknownJob(id) }
                if !stats || record.status == .null { return Self.respond(record, book: manager.book) }
                // A reading from before the last status change misses what came with it (io-status, ready, ...).
                guard let sampled = manager.samples.sampledAt(id), Date().timeIntervalSince(sampled) < Self.freshSample,
                    sampled >= record.statusHistory.last?.at ?? record.createdAt
                else { return nil }
                return Self.respond(record, book: manager.book, sampledAt: sampled)
            },
            otherwise: { [manager] request in
                let id = request.parameters["id"]!
                let record = try await manager.refresh(id)
                return Self.respond(record, book: manager.book, sampledAt: manager.samples.sampledAt(id))
            })
        // One route per verb (each its own operation in openapi.yaml, with the body that verb takes).
        for verb in JobVerb.allCases {
            router.deferred("POST", "/jobs/:id/\(verb.rawValue)") { [manager] request in
                let record = try await manager.apply(
                    verb, to: request.parameters["id"]!, body: try request.jsonObject(emptyIsEmptyObject: true),
                    by: request.principal?.name)
                return Response.json(record, status: 202)
            }
        }
    }

    /// How old the poller's last reading of a live job may be for `GET /jobs/{id}` to answer from it: two of the
    /// poller's periods.
    static let freshSample: TimeInterval = 1.0

    /// One record: its stored text when it can no longer change (finished records are kept partially in memory);
    /// a live record read from QEMU at `sampledAt`, as of that reading (`JobBook.sampledText`, which says so in
    /// `stats.sampled-at`); otherwise made now.
    static func respond(_ record: JobRecord, book: JobBook, status: Int = 200, sampledAt: Date? = nil) -> Response {
        let text =
            sampledAt.flatMap { book.sampledText(of: record.id, sampledAt: $0)?.text }
            ?? book.text(of: record, now: Date())
        return Response(status: status, headers: [("Content-Type", "application/json")], body: text + Data("\n".utf8))
    }

    /// `POST /jobs`: `{"type": T, "id": ID, ...that command's arguments}`.
    static func create(_ request: Request, manager: JobManager) async throws -> Response {
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
            type: type, id: id, arguments: body, request: .object(original), createdBy: request.principal?.name)
        return Response.json(record, status: 201, headers: [("Location", "/jobs/\(id)")])
    }
}
