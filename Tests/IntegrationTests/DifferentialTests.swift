import Foundation
import JobModel
import QMP
import TestSupport
import Testing

extension Integration {
    /// jobgate against QEMU itself: every row sends one request to a bare QEMU over QMP and the same request to
    /// jobgate over HTTP, each side with the same job brought into the same status first, and compares whether it
    /// was accepted, QEMU's `desc` (jobgate's problem must carry it), and the status sequence of the row's jobs
    /// afterwards (QEMU's drain pause/resume pairs aside). Rows cover jobgate's own refusals, every verb in every
    /// status a job can be held in, and the transaction failure modes; a new case is one row.
    @Suite struct DifferentialTests {
        @Test("the same commands to a bare QEMU and to jobgate: same answers, same words, same status sequences")
        func sameAsQEMU() async throws {
            try await JobgateInstance.with { gate in
                let bare = try await BareQEMU.start(directory: gate.dataDirectory)
                do {
                    let sides = try await DifferentialSides(gate: gate, bare: bare)
                    var mismatches: [String] = []
                    var moved = 0
                    for (index, row) in Self.rows.enumerated() {
                        let result = try await sides.compare(row, job: "j\(index)")
                        if let mismatch = result.difference { mismatches.append("\(row.name): \(mismatch)") }
                        moved += result.moved
                    }
                    // Accepted verbs and refused transactions move jobs: their sequences were compared, not only
                    // empty ones.
                    #expect(moved >= 15, "only \(moved) jobs changed status after a row's request")
                    #expect(
                        mismatches.isEmpty,
                        "\(mismatches.count) of \(Self.rows.count) rows differ:\n\(mismatches.joined(separator: "\n"))")
                    await bare.stop()
                } catch {
                    await bare.stop()
                    throw error
                }
            }
        }

        /// Every verb in each status a job can be held in, then the refusals and transactions of their own.
        static var rows: [DifferentialRow] {
            let held: [DifferentialRow.Hold] = [.running, .paused, .ready, .standby, .pending, .concluded, .gone]
            return held.flatMap { hold in JobVerb.allCases.map { DifferentialRow.verb($0, in: hold) } }
                + DifferentialRow.refusals + DifferentialRow.transactions
        }
    }
}
