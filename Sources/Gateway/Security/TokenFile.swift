import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who a request comes from: the NAME of the token it carried, and what that token may do.
public struct Principal: Sendable, Equatable {
    /// What a token allows: `read` the GET routes and event streams, or `operate` everything.
    public enum Role: String, Sendable {
        case read
        case operate
    }

    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// The `--token-file`: one token per line, `TOKEN ROLE NAME` separated by spaces, `#` starting a comment; blank
/// lines ignored. ROLE is `read` or `operate`; NAME is what logs and records show (the token never is).
public struct TokenFile: Sendable {
    public struct Entry: Sendable {
        let token: [UInt8]
        public let principal: Principal
    }

    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        /// Group or others may read it: refused, as anyone on the machine could take the tokens.
        case tooOpen(path: String, mode: mode_t)
        case malformed(path: String, line: Int, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "token file \(path): \(reason)"
            case .tooOpen(let path, let mode):
                "token file \(path) has mode \(String(mode & 0o777, radix: 8)); it must not be readable by group or others (chmod 600)"
            case .malformed(let path, let line, let reason): "token file \(path), line \(line): \(reason)"
            }
        }
    }

    public let entries: [Entry]

    /// Reads and checks the file at `path`.
    /// - Throws: `LoadError`: unreadable, readable by group or others, or a line that is not `TOKEN ROLE NAME`
    ///   (a duplicate token or a token shorter than 16 bytes included).
    public static func load(path: String) throws -> TokenFile {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw LoadError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard status.st_mode & 0o077 == 0 else { throw LoadError.tooOpen(path: path, mode: status.st_mode) }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LoadError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> TokenFile {
        var entries: [Entry] = []
        var seen = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard !fields.isEmpty else { continue }
            let number = index + 1
            guard fields.count == 3 else {
                throw LoadError.malformed(path: path, line: number, reason: "expected TOKEN ROLE NAME")
            }
            guard fields[0].utf8.count >= 16 else {
                throw LoadError.malformed(path: path, line: number, reason: "a token must be at least 16 bytes")
            }
            guard let role = Principal.Role(rawValue: String(fields[1])) else {
                throw LoadError.malformed(path: path, line: number, reason: "ROLE must be 'read' or 'operate'")
            }
            guard seen.insert(String(fields[0])).inserted else {
                throw LoadError.malformed(path: path, line: number, reason: "the same token appears twice")
            }
            entries.append(
                Entry(token: Array(fields[0].utf8), principal: Principal(name: String(fields[2]), role: role)))
        }
        return TokenFile(entries: entries)
    }

    /// The principal whose token is `candidate`, comparing against every entry in time that does not depend on
    /// where (or whether) the bytes differ.
    public func principal(for candidate: some Collection<UInt8>) -> Principal? {
        let candidate = Array(candidate)
        var found: Principal?
        for entry in entries where Self.equal(candidate, entry.token) {
            found = entry.principal
        }
        return found
    }

    /// Constant-time equality: every byte of `candidate` is looked at, whatever the first difference.
    static func equal(_ candidate: [UInt8], _ token: [UInt8]) -> Bool {
        guard !token.isEmpty else { return false }
        var difference = UInt8(truncatingIfNeeded: candidate.count ^ token.count)
        for index in candidate.indices {
            difference |= candidate[index] ^ token[index % token.count]
        }
        return difference == 0 && candidate.count == token.count
    }
}
