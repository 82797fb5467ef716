import Foundation
import Gateway
import Store

/// The data directory's `IdempotencyLedger` (Store) as the gateway's `IdempotencyStoring`: the gateway does not
/// import Store, so the two meet here, where jobgate is wired together.
struct IdempotencyLedgerAdapter: IdempotencyStoring {
    let ledger: IdempotencyLedger

    func begin(key: String, body: Data) -> IdempotencyDecision {
        switch ledger.begin(key: key, body: body) {
        case .proceed: .proceed
        case .replay(let status, let headers, let answer): .replay(status: status, headers: headers, body: answer)
        case .conflict: .conflict
        case .inProgress: .inProgress
        }
    }

    func finish(key: String, body: Data, status: Int, headers: [String: String], answer: Data) {
        ledger.finish(key: key, body: body, status: status, headers: headers, answer: answer)
    }
}
