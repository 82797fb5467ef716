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
        let writer = WriterThread.checkpoints
        let order = Mutex<[String]>([])
        let start = ContinuousClock.now
        let late = Mutex<Duration?>(nil)
        writer.async(after: .milliseconds(150)) {
            order.withLock { $0.append("late") }
            late.withLock { $0 = ContinuousClock.now - start }
        }
        await writer.run { order.withLock { $0.append("now") } }
        #expect(order.withLock { $0 } == ["now"])
        try? await Task.sleep(for: .milliseconds(400))
        #expect(order.withLock { $0 } == ["now", "late"])
        #expect(late.withLock { $0 }.map { $0 >= .milliseconds(150) } == true)
    }

    @Test("sync hands back the work's error")
    func error() {
        #expect(throws: Refused.self) {
            try WriterThread.journal.sync { () throws -> Int in throw Refused() }
        }
    }
}
