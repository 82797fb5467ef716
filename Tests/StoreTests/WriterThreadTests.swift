import Foundation
import Synchronization
import Testing

@testable import Store

/// The store's writer threads run work in order, on themselves, and hand results and errors back.
@Suite struct WriterThreadTests {
    struct Refused: Error, Equatable {}

    @Test("work runs in the order given, on the thread, and sync waits for what came before it")
    func order() {
        let seen = Mutex<[Int]>([])
        let onThread = Mutex(true)
        let writer = WriterThread.checkpoints
        for value in 0..<100 {
            writer.async {
                seen.withLock { $0.append(value) }
                if !writer.isCurrent { onThread.withLock { $0 = false } }
            }
        }
        let count = writer.sync { seen.withLock { $0.count } }
        #expect(count == 100)
        #expect(seen.withLock { $0 } == Array(0..<100))
        #expect(onThread.withLock { $0 } && !writer.isCurrent)
    }

    @Test("delayed work waits its delay and does not hold up work given later")
    func delayed() async {
        // A thread of its own: the shared ones are busy with other suites' stores.
        let writer = WriterThread(name: "test-delayed")
        let delay = Duration.seconds(3)
        let ran = Mutex<[(String, Duration)]>([])
        let start = ContinuousClock.now
        writer.async(after: delay) { ran.withLock { $0.append(("late", ContinuousClock.now - start)) } }
        writer.async { ran.withLock { $0.append(("now", ContinuousClock.now - start)) } }
        let deadline = ContinuousClock.now + .seconds(20)
        while ran.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let runs = ran.withLock { $0 }
        #expect(runs.map(\.0) == ["now", "late"])
        #expect(runs.first.map { $0.1 < delay } == true)
        #expect(runs.last.map { $0.1 >= delay } == true)
    }

    @Test("sync hands back the work's error")
    func error() {
        #expect(throws: Refused.self) {
            try WriterThread.journal.sync { () throws -> Int in throw Refused() }
        }
    }
}
