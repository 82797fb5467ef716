import Foundation
import JobModel
import Jobs

/// `Idempotency-Key` handling for creating routes: a retry with the same key and body gets the first answer; the
/// same key with another body is 422; keys survive restarts (the ledger is on disk).
struct Idempotency: Sendable {
    let ledger: (any IdempotencyStoring)?

    static let maximumKeyLength = 100

    /// Runs `handler` unless `request`'s key was seen before; records its answer.
    func run(_ request: Request, scope: String, _ handler: () async throws -> Response) async throws -> Response {
        guard let ledger, let key = request.headers["idempotency-key"] else { return try await handler() }
        guard !key.isEmpty, key.utf8.count <= Self.maximumKeyLength else {
            throw Problem.invalidHeader(
                "Idempotency-Key", "the Idempotency-Key header must be 1 to \(Self.maximumKeyLength) bytes")
        }
        let scoped = scope + ":" + key
        switch await ledger.begin(key: scoped, body: request.body) {
        case .replay(let status, let headers, let body):
            return Response(
                status: status, headers: headers.sorted { $0.key < $1.key } + [("Idempotent-Replayed", "true")],
                body: body)
        case .conflict:
            throw Problem.idempotencyKeyReused(key)
        case .inProgress:
            throw Problem.idempotencyKeyInProgress(key)
        case .proceed:
            // The answer the client gets is kept for a retry, a 500 included (Responder.render logs that one).
            let response: Response
            var unhandled: (any Error)?
            do {
                response = try await handler()
            } catch {
                response = Problem.of(error).response(instance: request.path)
                if !(error is any ProblemConvertible) { unhandled = error }
            }
            await ledger.finish(
                key: scoped, body: request.body, status: response.status,
                headers: Dictionary(response.headers, uniquingKeysWith: { _, last in last }), answer: response.body)
            if let unhandled { throw unhandled }
            return response
        }
    }
}
