import Foundation

// Build tool for the EmbedOpenAPI plugin (openapi.yaml and the dashboard): `EmbedFile INPUT OUTPUT NAME` writes a Swift file declaring
// `enum NAME { static let text: String }` with INPUT's contents, as a raw string literal.
let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: EmbedFile INPUT OUTPUT NAME\n".utf8))
    exit(2)
}
let text = try String(contentsOfFile: arguments[1], encoding: .utf8)
var hashes = "#"
while text.contains("\"\"\"" + hashes) || text.contains("\"" + hashes) { hashes += "#" }
let source = """
    // Generated at build time from \(URL(fileURLWithPath: arguments[1]).lastPathComponent) by the EmbedOpenAPI plugin.
    enum \(arguments[3]) {
        static let text = \(hashes)\"\"\"
    \(text)
    \"\"\"\(hashes)
    }

    """
try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
