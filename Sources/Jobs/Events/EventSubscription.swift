import Foundation

/// One subscriber's stream of events, read by the connection that serves it (see `EventHub`).
public final class EventSubscription: Sendable {
    /// What a read produced.
    public enum ReadResult: Sendable, Equatable {
        /// This many bytes were written into the buffer.
        case bytes(Int)
        /// Nothing to send: `suspend` was called; `wake` will be called once there is.
        case suspended
        /// The stream is over (shutdown, overflow, its job forgotten, or cancelled).
        case ended
    }

    let hub: EventHub
    let key: Int

    init(hub: EventHub, key: Int) {
        self.hub = hub
        self.key = key
    }

    /// Sets what wakes a suspended reader (resuming its connection). Call before the first read.
    public func attach(wake: @escaping @Sendable () -> Void) {
        hub.state.withLock { $0.subscribers[key]?.wake = wake }
    }

    /// Hands the next bytes of the stream to `sink`: control text first, then the encoded events this subscriber
    /// wants, an event possibly split across reads, until `sink` takes no more. When there is nothing, calls
    /// `suspend` (under the hub's lock, so a concurrent `append` cannot slip between) and returns `.suspended`.
    /// - Parameter sink: takes bytes of `data` from `offset` on, as many as it has room for, and returns how many
    ///   it took (0 when it is full). Called under the hub's lock: it must only copy.
    public func read(sink: (_ data: Data, _ offset: Int) -> Int, suspend: () -> Void) -> ReadResult {
        hub.state.withLock { state in
            guard var subscriber = state.subscribers[key] else { return .ended }
            subscriber.position = max(subscriber.position, state.base)
            var written = 0
            var full = false
            func copy(_ bytes: Data, from offset: Int) -> Int {
                guard offset < bytes.count, !full else { return 0 }
                let count = sink(bytes, offset)
                written += count
                if count < bytes.count - offset { full = true }
                return count
            }
            if !subscriber.pending.isEmpty {
                let count = copy(subscriber.pending, from: 0)
                subscriber.pending.removeFirst(count)
            }
            while subscriber.pending.isEmpty && !subscriber.ending && !full && subscriber.position < state.head {
                let entry = state.log[subscriber.position - state.base]
                guard entry.id > subscriber.after && subscriber.filter.matches(entry.event) else {
                    subscriber.position += 1
                    continue
                }
                subscriber.frameOffset += copy(entry.bytes, from: subscriber.frameOffset)
                if subscriber.frameOffset == entry.bytes.count {
                    subscriber.position += 1
                    subscriber.frameOffset = 0
                }
            }
            defer { state.subscribers[key] = subscriber }
            if written > 0 {
                subscriber.lastWrite = .now
                return .bytes(written)
            }
            if subscriber.ending { return .ended }
            subscriber.suspended = true
            suspend()
            return .suspended
        }
    }

    /// Forgets the subscriber (its connection is gone). `wake` is never called afterwards.
    public func cancel() {
        hub.state.withLock { _ = $0.subscribers.removeValue(forKey: key) }
    }
}
