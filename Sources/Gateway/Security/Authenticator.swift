import Logging
import Synchronization

/// The tokens in force: loaded from `--token-file` at start, replaced on SIGHUP (`reload`); open event streams
/// keep going. Safe from any thread (libmicrohttpd's included): a lookup takes a lock briefly and never waits.
public final class Authenticator: Sendable {
    public let path: String
    private let tokens: Mutex<TokenFile>
    private let logger: Logger

    /// - Throws: `TokenFile.LoadError`: jobgate does not start with a token file it cannot trust.
    public init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        self.tokens = Mutex(try TokenFile.load(path: path))
    }

    /// Reads the file again. A file that cannot be read or checked leaves the tokens as they were, logged.
    public func reload() {
        do {
            let file = try TokenFile.load(path: path)
            tokens.withLock { $0 = file }
            logger.notice(
                "token file reloaded",
                metadata: ["path": "\(path)", "names": "\(file.entries.map(\.principal.name).sorted())"])
        } catch {
            logger.error("token file not reloaded; the previous tokens stay", metadata: ["error": "\(error)"])
        }
    }

    /// The principal of an `Authorization: Bearer TOKEN` header value, if the token is known.
    public func principal(authorization: String?) -> Principal? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return tokens.withLock { $0.principal(for: token.utf8) }
    }
}
