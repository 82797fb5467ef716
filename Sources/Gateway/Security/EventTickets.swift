import Foundation
import Synchronization

/// Single-use tickets for event streams: a browser's `EventSource` cannot send an `Authorization` header, so a
/// client with a token asks `POST /events/tickets` for one and opens `/events?ticket=...`. A ticket carries the
/// token's principal, is valid for `lifetime`, and is gone once used. Memory only; never logged.
public final class EventTickets: Sendable {
    public let lifetime: Duration
    private let tickets = Mutex<[String: (principal: Principal, expires: ContinuousClock.Instant)]>([:])

    public init(lifetime: Duration = .seconds(60)) {
        self.lifetime = lifetime
    }

    /// A new ticket for `principal`: 32 random bytes, hex.
    public func issue(for principal: Principal) -> String {
        var generator = SystemRandomNumberGenerator()
        let ticket = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
            .joined()
        let now = ContinuousClock.now
        tickets.withLock { tickets in
            tickets = tickets.filter { $0.value.expires > now }
            tickets[ticket] = (principal, now + lifetime)
        }
        return ticket
    }

    /// Whether `text` has a ticket's form (64 lowercase hex digits), whether or not it was handed out.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The principal of `ticket` if it is valid; it cannot be used again.
    public func redeem(_ ticket: String) -> Principal? {
        let now = ContinuousClock.now
        return tickets.withLock { tickets in
            guard let entry = tickets.removeValue(forKey: ticket), entry.expires > now else { return nil }
            return entry.principal
        }
    }
}
