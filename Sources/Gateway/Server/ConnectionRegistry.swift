import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every open connection, for jobgate's own connection limit and the request deadline.
///
/// A connection is *receiving* from when it opens, or its last request was answered, until libmicrohttpd has read a
/// request's headers and body; one that stays receiving past `deadline` (a slowloris client trickling header bytes,
/// or a keep-alive connection left idle that long) is dropped, by shutting its socket down: libmicrohttpd then
/// sees the end and closes it. A request being handled and an event stream are exempt. Beyond `limit` open
/// connections, new ones are refused at accept (closed at once, never left waiting in the backlog).
///
/// Called from libmicrohttpd threads (the accept policy, connection notifications, the access handler) and from the
/// sweeper's queue; every call takes one lock and returns. A socket is shut down only under that lock while its
/// connection is registered, and libmicrohttpd closes a socket only after notifying that its connection closed
/// (which takes the lock), so a descriptor number reused by another connection is never touched.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var socket: Int32
        var receivingSince: ContinuousClock.Instant?
    }

    let limit: Int
    let deadline: Duration
    private let entries = Mutex<[UInt: Entry]>([:])
    private let sweeper = DispatchQueue(label: "jobgate.http.deadline")
    private let sweeping = Atomic<Bool>(false)

    init(limit: Int, deadline: Duration) {
        self.limit = limit
        self.deadline = deadline
    }

    /// Whether a new connection may be accepted (the accept policy).
    var hasRoom: Bool { entries.withLock { $0.count } < limit }

    func opened(_ connection: UInt, socket: Int32) {
        entries.withLock { $0[connection] = Entry(socket: socket, receivingSince: .now) }
    }

    func closed(_ connection: UInt) {
        _ = entries.withLock { $0.removeValue(forKey: connection) }
    }

    /// The request's headers and body are in: the deadline stops (until it is answered).
    func requestReceived(_ connection: UInt) {
        entries.withLock { $0[connection]?.receivingSince = nil }
    }

    /// The request was answered; on a kept-alive connection the next one must come within the deadline. An event
    /// stream is answered only when it ends, so it is exempt while it lasts.
    func requestCompleted(_ connection: UInt) {
        entries.withLock { $0[connection]?.receivingSince = .now }
    }

    /// Drops every connection receiving for longer than `deadline` as of `now`.
    /// - Returns: how many were dropped.
    @discardableResult
    func sweep(now: ContinuousClock.Instant = .now) -> Int {
        entries.withLock { entries in
            var dropped = 0
            for (key, entry) in entries {
                guard let since = entry.receivingSince, now - since > deadline else { continue }
                shutdown(entry.socket, Int32(SHUT_RDWR))
                entries[key]?.receivingSince = nil
                dropped += 1
            }
            return dropped
        }
    }

    /// Sweeps about every quarter of the deadline (at most once a second), until `stop`.
    func startSweeping() {
        sweeping.store(true, ordering: .relaxed)
        scheduleSweep()
    }

    func stop() {
        sweeping.store(false, ordering: .relaxed)
    }

    private func scheduleSweep() {
        let interval = min(1.0, max(0.05, deadline.seconds / 4))
        sweeper.asyncAfter(deadline: .now() + interval) { [self] in
            guard sweeping.load(ordering: .relaxed) else { return }
            sweep()
            scheduleSweep()
        }
    }
}
