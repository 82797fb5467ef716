import Foundation
import Gateway
import Store

/// The data directory's `IdempotencyLedger` (Store) as the gateway's `IdempotencyStoring`: the gateway does not
/// import Store, so the two meet here, where jobgate is wired together. The ledger's file reads and fsyncs run on
/// `WriterThread.requests`; the request task awaits them without holding a thread of the cooperative pool.
struct IdempotencyLedgerAdapter: IdempotencyStoring {
    let ledger: IdempotencyLedger

    func begin(key: String, body: Data) async -> IdempotencyDecision {
        let ledger = ledger
        let decision = await WriterThread.requests.run { ledger.begin(key: key, body: body) }
        return switch decision {
        case .proceed: .proceed
        case .replay(let status, let headers, let answer): .replay(status: status, headers: headers, body: answer)
        case .conflict: .conflict
        case .inProgress: .inProgress
        }
    }

    func finish(key: String, body: Data, status: Int, headers: [String: String], answer: Data) async {
        let ledger = ledger
        await WriterThread.requests.run {
            ledger.finish(key: key, body: body, status: status, headers: headers, answer: answer)
        }
    }
}
