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

    /// Fills `buffer` with the next bytes of the stream: control text first, then the frames of the events this
    /// subscriber wants, a frame possibly split across reads. When there is nothing, calls `suspend` (under the
    /// hub's lock, so a concurrent `append` cannot slip between) and returns `.suspended`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, suspend: () -> Void) -> ReadResult {
        hub.state.withLock { state in
            guard var subscriber = state.subscribers[key] else { return .ended }
            subscriber.position = max(subscriber.position, state.base)
            var written = 0
            func copy(_ bytes: Data, from offset: Int) -> Int {
                let count = min(bytes.count - offset, buffer.count - written)
                guard count > 0 else { return 0 }
                bytes.withUnsafeBytes { source in
                    buffer.baseAddress!.advanced(by: written).copyMemory(
                        from: source.baseAddress!.advanced(by: offset), byteCount: count)
                }
                written += count
                return count
            }
            if !subscriber.pending.isEmpty {
                let count = copy(subscriber.pending, from: 0)
                subscriber.pending.removeFirst(count)
            }
            while subscriber.pending.isEmpty && !subscriber.ending && written < buffer.count
                && subscriber.position < state.head
            {
                let event = state.log[subscriber.position - state.base]
                guard event.id > subscriber.after && subscriber.filter.matches(event) else {
                    subscriber.position += 1
                    continue
                }
                subscriber.frameOffset += copy(event.frame, from: subscriber.frameOffset)
                if subscriber.frameOffset == event.frame.count {
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
