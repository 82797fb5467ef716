import Foundation
import Gateway
import JobModel
import Synchronization
import Testing

@testable import Jobs

/// The event hub on its own: replay, live delivery, filters, resync, overflow, heartbeats, suspension.
@Suite struct EventHubTests {
    static let epoch: UInt64 = 7

    func event(_ sequence: UInt64, _ name: String = "JOB_STATUS_CHANGE", job: String = "b0", type: JobType = .backup)
        -> JobEvent
    {
        JobEvent(
            id: EventID(epoch: Self.epoch, sequence: sequence), name: name, job: job, jobType: type,
            data: ["id": .string(job), "status": "running"], at: Date(timeIntervalSince1970: 1_700_000_000))
    }

    func hub(history: Int = 100, queueLimit: Int = 100, heartbeat: Duration = .seconds(15)) -> EventHub {
        var configuration = EventHub.Configuration()
        configuration.history = history
        configuration.queueLimit = queueLimit
        configuration.heartbeat = heartbeat
        return EventHub(configuration: configuration, encoding: ServerSentEvents())
    }

    /// Reads everything available (suspending at the end), in small reads so frames are split.
    func drain(_ subscription: EventSubscription, chunk: Int = 7) -> (text: String, suspended: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let result = buffer.withUnsafeMutableBytes { subscription.read(into: $0, suspend: {}) }
            switch result {
            case .bytes(let count): bytes += buffer[0..<count]
            case .suspended: return (String(decoding: bytes, as: UTF8.self), true)
            case .ended: return (String(decoding: bytes, as: UTF8.self), false)
            }
        }
    }

    func ids(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }

    func current(_ sequence: UInt64) -> EventID { EventID(epoch: Self.epoch, sequence: sequence) }

    @Test("a cursor inside the log replays exactly the events after it, then live ones, split reads and all")
    func replayThenLive() throws {
        let hub = hub()
        hub.load((1...5).map { event($0) })
        let subscription = try hub.subscribe(filter: EventFilter(), after: current(2), current: current(5))
        let first = drain(subscription)
        #expect(first.text.hasPrefix("retry: 3000\n\n"))
        #expect(ids(first.text) == ["7-3", "7-4", "7-5"])
        #expect(first.suspended)
        hub.append(event(6))
        hub.append(event(7))
        #expect(ids(drain(subscription).text) == ["7-6", "7-7"])
    }

    @Test("ids ahead of the log but handed out are waited for, not resynced; unknown and too-old cursors resync")
    func cursors() throws {
        let hub = hub(history: 4)
        hub.load((1...3).map { event($0) })
        // Listed at 7-4 while event 4 is on its way to the hub: nothing is replayed, 4 is skipped, 5 comes.
        let listed = try hub.subscribe(filter: EventFilter(), after: current(4), current: current(4))
        hub.append(event(4))
        hub.append(event(5))
        #expect(ids(drain(listed).text) == ["7-5"])
        // The id just before the log's first event is resumable; one further back is not.
        let edge = try hub.subscribe(filter: EventFilter(), after: current(0), current: current(5))
        #expect(ids(drain(edge).text) == ["7-1", "7-2", "7-3", "7-4", "7-5"])
        let future = try hub.subscribe(
            filter: EventFilter(), after: EventID(epoch: 9, sequence: 1), current: current(5))
        let futureText = drain(future).text
        #expect(futureText.contains("event: resync\n") && futureText.contains(#""reason":"unknown-cursor""#))
        #expect(ids(futureText) == ["7-5"])
        for sequence: UInt64 in 6...12 { hub.append(event(sequence)) }  // the log drops 1...7
        let old = try hub.subscribe(filter: EventFilter(), after: current(3), current: current(12))
        let oldText = drain(old).text
        #expect(oldText.contains(#""reason":"cursor-too-old""#) && ids(oldText) == ["7-12"])
        hub.append(event(13))
        #expect(ids(drain(old).text) == ["7-13"])
        let kept = try hub.subscribe(filter: EventFilter(), after: current(9), current: current(13))
        #expect(ids(drain(kept).text) == ["7-10", "7-11", "7-12", "7-13"])
    }

    @Test("filters by job, type and event name")
    func filters() throws {
        let hub = hub()
        let byJob = try hub.subscribe(filter: EventFilter(jobs: ["m0"]), after: nil, current: current(0))
        let byType = try hub.subscribe(filter: EventFilter(types: [.backup]), after: nil, current: current(0))
        let byName = try hub.subscribe(
            filter: EventFilter(events: ["BLOCK_JOB_COMPLETED"]), after: nil, current: current(0))
        hub.append(event(1, job: "b0"))
        hub.append(event(2, job: "m0", type: .mirror))
        hub.append(event(3, "BLOCK_JOB_COMPLETED", job: "b0"))
        hub.append(event(4, "BLOCK_JOB_READY", job: "m0", type: .mirror))
        #expect(ids(drain(byJob).text) == ["7-2", "7-4"])
        #expect(ids(drain(byType).text) == ["7-1", "7-3"])
        #expect(ids(drain(byName).text) == ["7-3"])
    }

    @Test("a subscriber that stops reading is cut off with a resync; the others get everything")
    func overflow() throws {
        let hub = hub(queueLimit: 3)
        let stuck = try hub.subscribe(filter: EventFilter(), after: nil, current: current(0))
        let reader = try hub.subscribe(filter: EventFilter(), after: nil, current: current(0))
        var received: [String] = []
        for sequence: UInt64 in 1...6 {
            hub.append(event(sequence))
            received += ids(drain(reader).text)
        }
        #expect(received == (1...6).map { "7-\($0)" })
        let text = drain(stuck)
        #expect(text.text.contains(#""reason":"queue-overflow""#))
        #expect(ids(text.text) == ["7-4"], "no event after the overflow, and the resync names where it happened")
        #expect(!text.suspended, "the stream ends after the resync")
    }

    @Test("a reader with nothing to send suspends; one wake per suspension; heartbeats and closeAll wake it")
    func suspension() throws {
        let hub = hub(heartbeat: .milliseconds(10))
        let subscription = try hub.subscribe(filter: EventFilter(jobs: ["b0"]), after: nil, current: current(0))
        let wakes = Mutex(0)
        subscription.attach { wakes.withLock { $0 += 1 } }
        _ = drain(subscription)
        hub.append(event(1, job: "other"))
        #expect(wakes.withLock { $0 } == 0, "an event it does not want does not wake it")
        hub.append(event(2))
        hub.append(event(3))
        #expect(wakes.withLock { $0 } == 1)
        #expect(ids(drain(subscription).text) == ["7-2", "7-3"])
        hub.heartbeat(now: .now + .seconds(1))
        #expect(wakes.withLock { $0 } == 2)
        #expect(drain(subscription).text == ": heartbeat\n\n")
        hub.closeAll()
        #expect(wakes.withLock { $0 } == 3)
        #expect(drain(subscription).suspended == false)
        #expect(throws: EventHub.Refusal.self) {
            try hub.subscribe(filter: EventFilter(), after: nil, current: current(3))
        }
        subscription.cancel()
        #expect(hub.subscriberCount == 0)
    }

    @Test("a per-job stream ends once its job's records are forgotten; other streams go on")
    func perJobStreamEnds() throws {
        let hub = hub()
        let perJob = try hub.subscribe(
            filter: EventFilter(jobs: ["b0"]), after: nil, current: current(0), endsWithJob: "b0")
        let everything = try hub.subscribe(filter: EventFilter(), after: nil, current: current(0))
        hub.append(event(1))
        #expect(ids(drain(perJob).text) == ["7-1"])
        hub.jobsForgotten(["b1"])
        #expect(drain(perJob).suspended, "another job's records do not end it")
        hub.jobsForgotten(["b0"])
        #expect(drain(perJob).suspended == false)
        hub.append(event(2))
        #expect(ids(drain(everything).text) == ["7-1", "7-2"])
    }

    @Test("event ids parse and order by epoch, then sequence")
    func eventIDs() {
        #expect(EventID("3-17") == EventID(epoch: 3, sequence: 17))
        for bad in ["", "3", "3-", "-1", "a-1", "3-1-2", "3 -1", "+3-1", "99999999999999999999-1"] {
            #expect(EventID(bad) == nil, "\(bad)")
        }
        #expect(EventID(epoch: 2, sequence: 900) < EventID(epoch: 3, sequence: 1))
    }
}
