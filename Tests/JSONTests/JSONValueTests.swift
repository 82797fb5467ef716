import Foundation
import JSON
import Testing

@Suite struct JSONValueTests {
    @Test("integers survive a round trip exactly, up to Int64.max")
    func integersStayExact() throws {
        let text = #"{"a":9223372036854775807,"b":-1,"c":1.5,"d":true,"e":null,"f":["x"]}"#
        let value = try JSONValue.parse(Data(text.utf8))
        #expect(value["a"] == .int(Int64.max))
        #expect(value["c"] == .double(1.5))
        #expect(value["d"] == .bool(true))
        #expect(value["e"] == .null)
        #expect(String(decoding: value.serialized(), as: UTF8.self) == text)
    }

    @Test("malformed text is an error, not a value")
    func malformed() {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data("{\"a\":".utf8)) }
    }
}
