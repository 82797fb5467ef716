import Foundation
import JobModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The journal of recent job events, beside the record files: `<data>/events/journal.jsonl`, one JSON object a
/// line, each with its id `<epoch>-<sequence>`. It lets a watcher resume from an event id across a restart.
///
/// Appends are written (and, when durable, fdatasync'd) before `append` returns. When the file passes `maximumBytes` it becomes
/// `journal.1.jsonl` (replacing the previous one) and a new file starts, so the journal keeps between one and two
/// files' worth of the most recent events.
public final class EventJournal: Sendable {
    public let directory: String
    private let maximumBytes: Int
    /// The open file and its size, or nil before the first append.
    private let file = Mutex<(descriptor: Int32, size: Int)?>(nil)

    public init(dataDirectory: String, maximumBytes: Int = 4 << 20) throws {
        directory = dataDirectory + "/events"
        self.maximumBytes = maximumBytes
        try DataDirectory.makePrivateDirectory(directory)
    }

    public var currentPath: String { directory + "/journal.jsonl" }
    public var previousPath: String { directory + "/journal.1.jsonl" }

    /// Appends one event; `durable`: fdatasync'd before it returns (without, it survives a crash of jobgate but
    /// not of the machine).
    /// - Throws: `StoreError.io`.
    public func append(_ event: JSONValue, durable: Bool = true) throws {
        try append([event], durable: durable)
    }

    /// Appends events in order, with one write and (if `durable`) one fdatasync for all.
    /// - Throws: `StoreError.io`.
    public func append(_ events: [JSONValue], durable: Bool) throws {
        guard !events.isEmpty else { return }
        var lines = Data()
        for event in events {
            lines.append(event.serialized())
            lines.append(UInt8(ascii: "\n"))
        }
        try file.withLock { file in
            if file == nil || file!.size + lines.count > maximumBytes && file!.size > 0 {
                if let open = file {
                    close(open.descriptor)
                    guard rename(currentPath, previousPath) == 0 else {
                        throw StoreError.io(step: "rotate \(currentPath)", reason: String(cString: strerror(errno)))
                    }
                    file = nil
                }
                let descriptor = open(currentPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, DataDirectory.fileMode)
                guard descriptor >= 0 else {
                    throw StoreError.io(step: "open \(currentPath)", reason: String(cString: strerror(errno)))
                }
                fchmod(descriptor, DataDirectory.fileMode)  // a journal an earlier jobgate wrote 0644
                var status = stat()
                fstat(descriptor, &status)
                file = (descriptor, Int(status.st_size))
                try AtomicFile.syncDirectory(directory)
            }
            guard AtomicFile.writeAll(lines, to: file!.descriptor), !durable || fdatasync(file!.descriptor) == 0 else {
                throw StoreError.io(step: "append to \(currentPath)", reason: String(cString: strerror(errno)))
            }
            file!.size += lines.count
        }
    }

    /// The last `limit` events kept, oldest first (previous file, then current). Lines that do not parse (a torn
    /// last line after a crash) are skipped.
    public func recent(limit: Int = .max) -> [JSONValue] {
        let lines = [previousPath, currentPath].flatMap { path -> [Data.SubSequence] in
            guard let data = FileManager.default.contents(atPath: path) else { return [] }
            return data.split(separator: UInt8(ascii: "\n"))
        }
        return lines.suffix(limit).compactMap { try? JSONValue.parse(Data($0)) }
    }
}
