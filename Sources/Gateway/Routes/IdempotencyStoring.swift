import Foundation

/// Where the answers to requests with an `Idempotency-Key` are kept, so that a retry (also after a restart) gets
/// the first answer. The gateway needs only this; `jobgate` wires in the data directory's ledger
/// (Store's `IdempotencyLedger`). Called from request tasks, any thread.
public protocol IdempotencyStoring: Sendable {
    /// What to do with a request carrying `key` and `body`; `.proceed` marks the key in progress.
    func begin(key: String, body: Data) async -> IdempotencyDecision
    /// Keeps the answer given to the request that `begin` let proceed.
    func finish(key: String, body: Data, status: Int, headers: [String: String], answer: Data) async
}

/// What `IdempotencyStoring.begin` decides.
public enum IdempotencyDecision: Sendable, Equatable {
    /// First use of the key: do the work, then `finish` with the answer.
    case proceed
    /// Same key, same body: send this answer again.
    case replay(status: Int, headers: [String: String], body: Data)
    /// Same key, another body.
    case conflict
    /// The first request with this key is still being handled.
    case inProgress
}
