import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Remembers the answers to requests that carried an `Idempotency-Key`, on disk, so a retry (also after a restart)
/// gets the first answer instead of doing the work twice.
///
/// One file per key in `<data>/idempotency/`, named by the key's bytes in hex; each holds the request body the key
/// was first used with and the answer given. Entries older than `lifetime` are forgotten, and their files deleted
/// (`pruneExpired`, at start and then at most once an hour, on `WriterThread.requests`), so the directory does not
/// grow without bound.
public final class IdempotencyLedger: Sendable {
    /// What to do with a request that carries a key.
    public enum Decision: Sendable, Equatable {
        /// First use of the key: do the work, then `record` the answer.
        case proceed
        /// Same key, same body: send this answer again.
        case replay(status: Int, headers: [String: String], body: Data)
        /// Same key, another body.
        case conflict
        /// The first request with this key is still being handled.
        case inProgress
    }

    private struct Entry: Codable {
        var key: String
        var request: Data
        var status: Int
        var headers: [String: String]
        var body: Data
        var at: Date
    }

    public let directory: String
    private let lifetime: TimeInterval
    private let logger: Logger
    private let inFlight = Mutex<[String: Data]>([:])
    /// When expired files were last deleted.
    private let lastPruned = Mutex(Date.distantPast)
    private let pruner = WriterThread.requests

    /// Told when an answer cannot be stored (the data directory fails).
    private let health: StorageHealth?

    public init(
        dataDirectory: String, lifetime: TimeInterval = 24 * 3600, health: StorageHealth? = nil, logger: Logger
    ) throws {
        self.health = health
        directory = dataDirectory + "/idempotency"
        self.lifetime = lifetime
        self.logger = logger
        try DataDirectory.makePrivateDirectory(directory)
        pruneSoon()
    }

    /// Deletes the files of entries older than `lifetime` at `now` (by modification time: a file is written once).
    /// - Returns: how many were deleted.
    @discardableResult
    public func pruneExpired(now: Date = Date()) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var deleted = 0
        for name in names {
            let path = directory + "/" + name
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) >= lifetime
            else { continue }
            if unlink(path) == 0 { deleted += 1 }
        }
        if deleted > 0 { logger.debug("deleted expired idempotency keys", metadata: ["keys": "\(deleted)"]) }
        return deleted
    }

    /// Runs `pruneExpired` on the ledger's queue unless it ran within the last hour.
    private func pruneSoon() {
        let due = lastPruned.withLock { last -> Bool in
            guard Date().timeIntervalSince(last) >= 3600 else { return false }
            last = Date()
            return true
        }
        if due { pruner.async { [self] in _ = pruneExpired() } }
    }

    /// Looks `key` up for a request with `body` (the route is part of the key: callers pass e.g. "POST /jobs key").
    public func begin(key: String, body: Data) -> Decision {
        if let entry = load(key), Date().timeIntervalSince(entry.at) < lifetime {
            return entry.request == body
                ? .replay(status: entry.status, headers: entry.headers, body: entry.body) : .conflict
        }
        return inFlight.withLock { inFlight in
            if let other = inFlight[key] { return other == body ? .inProgress : .conflict }
            inFlight[key] = body
            return .proceed
        }
    }

    /// Stores the answer to the request that `begin` let proceed. Answers 500 and above are not stored (the
    /// retry should try again); the key is released either way.
    public func finish(key: String, body: Data, status: Int, headers: [String: String], answer: Data) {
        defer { _ = inFlight.withLock { $0.removeValue(forKey: key) } }
        pruneSoon()
        guard status < 500 else { return }
        let entry = Entry(key: key, request: body, status: status, headers: headers, body: answer, at: Date())
        do {
            try AtomicFile.write(try JSONEncoder().encode(entry), to: path(for: key))
        } catch {
            logger.error("could not store an idempotency key", metadata: ["error": "\(error)"])
            health?.fail(error)
        }
    }

    private func load(_ key: String) -> Entry? {
        guard let data = FileManager.default.contents(atPath: path(for: key)) else { return nil }
        return try? JSONDecoder().decode(Entry.self, from: data)
    }

    private func path(for key: String) -> String {
        directory + "/" + key.utf8.map { String(format: "%02x", $0) }.joined() + ".json"
    }
}
