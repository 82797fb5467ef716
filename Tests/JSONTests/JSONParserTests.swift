import Foundation
import JSON
import Testing

/// jobgate's own JSON parser, which reads every request body and every record file.
@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }

    @Test("escapes, surrogate pairs, numbers and nesting parse as RFC 8259 says")
    func valid() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\n\té😀"))
        #expect(
            try parse("[0,-0,1.5,-2e3,9223372036854775807,123456789012345678901]")
                == [.int(0), .int(0), .double(1.5), .double(-2000), .int(Int64.max), .double(123456789012345678901)])
        #expect(try parse(#" {"a":[true,false,null,{}],"b":[]} "#) == ["a": [true, false, nil, [:]], "b": []])
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: Never.self) { try parse(deep) }
    }

    @Test(
        "malformed or hostile text is an error, not a crash",
        arguments: [
            "", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "nul", "\"abc", "\"\\x\"",
            "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}\"", "[1] 2", "NaN", "{\"a\":1e999}",
            String(repeating: "[", count: 100_000),
        ])
    func invalid(text: String) {
        #expect(throws: (any Error).self) { try parse(text) }
    }

    @Test("what the writer writes, the parser reads back equal")
    func roundTrip() throws {
        let value: JSONValue = [
            "s": "quote \" backslash \\ newline \n ctl \u{01} é", "n": [1, -2, .double(0.1)], "z": nil,
        ]
        #expect(try JSONValue.parse(value.serialized()) == value)
    }
}
