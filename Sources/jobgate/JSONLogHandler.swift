import Foundation
import JSON
import JobModel
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `--log-format json`: one JSON object per line on standard error, for log shippers. Fields: `time` (RFC 3339,
/// UTC), `level`, `label`, `message`, `source` (the module), the metadata as fields of their own (nested metadata
/// as JSON objects and arrays), and `error` when the call passed one. A field of the metadata never replaces one
/// of those. Each line is one `write(2)`, so lines from different threads do not interleave on a pipe.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        let merged = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged { fields[key] = Self.json(value) }
        fields["time"] = .string(Timestamp.format(Date()))
        fields["level"] = .string(event.level.rawValue)
        fields["label"] = .string(label)
        fields["message"] = .string(event.message.description)
        fields["source"] = .string(event.source)
        if let error = event.error { fields["error"] = .string("\(error)") }
        var line = JSONValue.object(fields).serialized()
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .dictionary(let dictionary): .object(dictionary.mapValues(json))
        case .array(let array): .array(array.map(json))
        }
    }
}
