import Foundation
import Logging
import Testing

@testable import Store

/// The idempotency ledger forgets expired keys on disk too.
@Suite final class IdempotencyLedgerTests {
    let dataDirectory = NSTemporaryDirectory() + "ledger-\(UUID().uuidString.prefix(8))"

    deinit {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    @Test("keys older than their lifetime are deleted from disk; newer ones stay and still replay")
    func expiredKeysAreDeleted() throws {
        let ledger = try IdempotencyLedger(dataDirectory: dataDirectory, lifetime: 3600, logger: Logger(label: "test"))
        for key in ["a", "b"] {
            #expect(ledger.begin(key: key, body: Data("x".utf8)) == .proceed)
            ledger.finish(key: key, body: Data("x".utf8), status: 201, headers: [:], answer: Data("ok".utf8))
        }
        #expect(ledger.pruneExpired(now: Date()) == 0)
        if case .replay = ledger.begin(key: "a", body: Data("x".utf8)) {} else { Issue.record("key a forgotten early") }
        #expect(ledger.pruneExpired(now: Date().addingTimeInterval(7200)) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ledger.directory).isEmpty)
    }
}
