import Foundation
import JobModel
import Synchronization

/// The live fan-out of job events to stream subscribers, with the recent past kept for replay.
///
/// One shared, bounded log of recent events (loaded from the journal at start, so replay works across restarts);
/// each subscriber is only a position in it, a filter, and a few bytes of control text (the `retry:` hint, a
/// resync, a heartbeat). Appending an event costs one pass over the subscribers and never waits for any of them:
/// a subscriber that falls more than `queueLimit` live events behind gets a resync event and is ended. Readers
/// (libmicrohttpd threads) copy each event's bytes, encoded once when it was appended (`EventEncoding`), straight
/// from the log into the connection's buffer.
///
/// Suspension: a reader that finds nothing to send calls its `suspend` while holding the hub's lock and the
/// subscriber is marked suspended; `append`, `heartbeat` and `closeAll` call its `wake` (under the same lock)
/// exactly once per suspension. So no wake-up is lost and no connection is resumed that was not suspended.
public final class EventHub: Sendable {
    public struct Configuration: Sendable {
        /// Events kept in memory for replay (`Last-Event-ID`); older cursors get a resync.
        public var history = 10_000
        /// Live events a subscriber may fall behind before it is sent a resync and ended.
        public var queueLimit = 1024
        /// The reconnection delay suggested to clients (`retry:`).
        public var retryMilliseconds = 3000
        /// How long a stream may stay silent before a heartbeat comment is sent.
        public var heartbeat: Duration = .seconds(15)

        public init() {}
    }

    /// Why a subscription could not be made.
    public enum Refusal: Error, Sendable {
        case shuttingDown
    }

    struct Subscriber {
        var filter: EventFilter
        /// Only events after this id are sent.
        var after: EventID
        /// Absolute log index of the next event to look at, and the bytes of it already sent.
        var position: Int
        var frameOffset = 0
        /// Absolute log index at subscription: replay before it does not count against the queue limit.
        var liveStart: Int
        /// Control text to send before any further event.
        var pending: Data
        var suspended = false
        /// Nothing more after `pending`: the stream then ends.
        var ending = false
        /// A per-job stream ends when its job's record is gone.
        var endsWithJob: String?
        var lastWrite: ContinuousClock.Instant
        var wake: (@Sendable () -> Void)?
    }

    /// An event in the log, with its bytes on the wire.
    struct Logged {
        let event: JobEvent
        let bytes: Data
        var id: EventID { event.id }
    }

    struct State {
        var log: [Logged] = []
        /// Absolute index of `log[0]`.
        var base = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 1
        /// The last event dropped from the log by this process, if any.
        var droppedThrough: EventID?
        var closed = false

        var head: Int { base + log.count }

        /// Visits every subscriber in place. (Iterating the table while assigning into it would copy the whole
        /// table on every event.)
        mutating func updateSubscribers(_ body: (inout Subscriber) -> Void) {
            var index = subscribers.startIndex
            while index != subscribers.endIndex {
                body(&subscribers.values[index])
                subscribers.formIndex(after: &index)
            }
        }

        /// Absolute index of the first event after `cursor`.
        func index(after cursor: EventID) -> Int {
            var low = 0
            var high = log.count
            while low < high {
                let middle = (low + high) / 2
                if log[middle].id <= cursor { low = middle + 1 } else { high = middle }
            }
            return base + low
        }

        /// Whether every event after `cursor` is still in the log (or was never made), given the newest id handed
        /// out (`current`). See `subscribe`.
        func canResume(from cursor: EventID, current: EventID) -> Bool {
            guard cursor <= current else { return false }
            guard let first = log.first else { return cursor.epoch == current.epoch }
            if cursor >= first.id { return true }
            if let droppedThrough { return cursor >= droppedThrough }
            // Nothing dropped since start: the log begins where the journal did, and only an id directly before its
            // first event is known to have nothing in between.
            return cursor.next == first.id
        }
    }

    public let configuration: Configuration
    /// How events and control text go on the wire.
    let encoding: any EventEncoding
    let state = Mutex(State())

    public init(configuration: Configuration = Configuration(), encoding: any EventEncoding) {
        self.configuration = configuration
        self.encoding = encoding
    }

    /// Puts events read from the journal (oldest first) in front of the log. Call once, before any `append`.
    public func load(_ events: some Collection<JobEvent>) {
        let kept = events.suffix(configuration.history).map { Logged(event: $0, bytes: encoding.encode($0)) }
        state.withLock { state in
            state.log = kept + state.log
        }
    }

    /// Adds the next event (ids must grow) and wakes the subscribers it concerns. Never waits for a subscriber.
    public func append(_ event: JobEvent) {
        append(contentsOf: [event])
    }

    /// Adds events at once (ids must grow): a subscriber is woken once for all of them, which matters with many
    /// subscribers and bursts (the progress of every running job is sampled at the same moment).
    public func append(contentsOf events: [JobEvent]) {
        let logged = events.map { Logged(event: $0, bytes: encoding.encode($0)) }
        let dropped = state.withLock { state in
            logged.reduce(0) { dropped, entry in dropped + add(entry, to: &state) }
        }
        EventMetrics.published(events)
        EventMetrics.dropped(dropped)
    }

    /// - Returns: how many subscribers it ended for falling too far behind.
    private func add(_ entry: Logged, to state: inout State) -> Int {
        var dropped = 0
        let event = entry.event
        let oldHead = state.head
        state.log.append(entry)
        if state.log.count > configuration.history + configuration.history / 4 {
            let drop = state.log.count - configuration.history
            state.droppedThrough = state.log[drop - 1].id
            state.log.removeFirst(drop)
            state.base += drop
        }
        let head = state.head
        let base = state.base
        state.updateSubscribers { subscriber in
            guard !subscriber.ending else { return }
            if subscriber.position == oldHead {
                // Caught up: either this event is for it, or it stays caught up.
                if event.id > subscriber.after && subscriber.filter.matches(event) {
                    Self.wake(&subscriber)
                } else {
                    subscriber.position = head
                }
            } else if head - max(subscriber.position, subscriber.liveStart) > configuration.queueLimit
                || subscriber.position < base
            {
                subscriber.pending.append(resyncFrame(reason: "queue-overflow", resumeAt: event.id))
                subscriber.position = head
                subscriber.frameOffset = 0
                subscriber.ending = true
                dropped += 1
                Self.wake(&subscriber)
            } else {
                Self.wake(&subscriber)
            }
        }
        return dropped
    }

    /// Subscribes from `cursor` (nil: from now). A cursor whose events are all still known is replayed from the
    /// log; any other (too old, or not one this jobgate handed out) starts the stream with a resync event instead.
    /// - Parameters:
    ///   - current: the newest event id handed out (`JobBook.currentEventID`); events up to it that are not in
    ///     the log yet are on their way and will be sent.
    ///   - endsWithJob: end the stream when this job's record is forgotten (`GET /jobs/{id}/events`).
    /// - Throws: `Refusal.shuttingDown` after `closeAll`.
    public func subscribe(filter: EventFilter, after cursor: EventID?, current: EventID, endsWithJob: String? = nil)
        throws(Refusal) -> EventSubscription
    {
        var resync: String?
        defer { if let resync { EventMetrics.resynced(reason: resync) } }
        return try state.withLock { state throws(Refusal) in
            guard !state.closed else { throw .shuttingDown }
            var pending = encoding.retry(milliseconds: configuration.retryMilliseconds)
            var after = current
            var position = state.head
            if let cursor {
                if state.canResume(from: cursor, current: current) {
                    after = cursor
                    position = state.index(after: cursor)
                } else {
                    let reason = cursor > current ? "unknown-cursor" : "cursor-too-old"
                    pending.append(resyncFrame(reason: reason, resumeAt: current))
                    resync = reason
                }
            }
            let key = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[key] = Subscriber(
                filter: filter, after: after, position: position, liveStart: state.head, pending: pending,
                endsWithJob: endsWithJob, lastWrite: .now)
            return EventSubscription(hub: self, key: key)
        }
    }

    /// Sends a heartbeat comment to every stream silent for the configured interval (call about once a second).
    /// A write to a vanished peer fails, and libmicrohttpd then closes the connection.
    public func heartbeat(now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.updateSubscribers { subscriber in
                guard !subscriber.ending, subscriber.pending.isEmpty,
                    now - subscriber.lastWrite >= configuration.heartbeat
                else { return }
                subscriber.pending = encoding.heartbeat()
                subscriber.lastWrite = now
                Self.wake(&subscriber)
            }
        }
    }

    /// Sends heartbeats (`heartbeat()`) about once a second, or twice per interval if that is shorter, until
    /// cancelled.
    public func runHeartbeats(clock: any TimerClock = SystemClock()) async {
        let tick = min(Duration.seconds(1), configuration.heartbeat / 2)
        while !Task.isCancelled {
            try? await clock.sleep(for: tick)
            heartbeat(now: clock.now)
        }
    }

    /// Ends the per-job streams of jobs whose records are gone.
    public func jobsForgotten(_ ids: Set<String>) {
        state.withLock { state in
            state.updateSubscribers { subscriber in
                guard let job = subscriber.endsWithJob, ids.contains(job) else { return }
                subscriber.ending = true
                Self.wake(&subscriber)
            }
        }
    }

    /// Ends every stream and refuses new ones (shutdown). Suspended streams are woken so they can end.
    public func closeAll() {
        state.withLock { state in
            state.closed = true
            state.updateSubscribers { subscriber in
                subscriber.ending = true
                Self.wake(&subscriber)
            }
        }
    }

    /// Streams currently open.
    public var subscriberCount: Int {
        state.withLock { $0.subscribers.count }
    }

    static func wake(_ subscriber: inout Subscriber) {
        guard subscriber.suspended else { return }
        subscriber.suspended = false
        subscriber.wake?()
    }

    /// A resync event's bytes (`JobEvent.resync`).
    func resyncFrame(reason: String, resumeAt id: EventID) -> Data {
        encoding.encode(JobEvent.resync(reason: reason, resumeAt: id))
    }

}
