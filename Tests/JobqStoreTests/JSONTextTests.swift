import JobqCore
import Testing

@testable import JobqStore

@Suite struct JSONTextTests {
    func decodeArray(_ text: String) throws -> [String] {
        var text = text
        return try text.withUTF8 { try JSONText.decodeArray($0) }
    }

    func decodeObject(_ text: String) throws -> [String: String] {
        var text = text
        return try text.withUTF8 { try JSONText.decodeObject($0) }
    }

    @Test(
        arguments: [
            [], [""], ["plain", "with space"], ["quote \" and \\ backslash", "/slash"],
            ["tab\tnew\nline\r", "\u{1}\u{1F}"],
            ["naïve", "日本語", "emoji 🎉", "\u{7F}"],
        ] as [[String]])
    func arraysRoundTrip(words: [String]) throws {
        #expect(try decodeArray(JSONText.encode(words)) == words)
    }

    @Test func objectsRoundTripWithSortedKeys() throws {
        let object = ["b": "2", "a": "x=\"y\"", "ü": "\n"]
        let text = JSONText.encode(object)
        #expect(text == #"{"a":"x=\"y\"","b":"2","ü":"\n"}"#)
        #expect(try decodeObject(text) == object)
        #expect(JSONText.encode([:]) == "{}")
    }

    @Test func readsWhatOtherWritersProduce() throws {
        #expect(try decodeArray(#" [ "a" , "\u00e9\ud83c\udf89" ,"\/\b\f" ] "#) == ["a", "é🎉", "/\u{8}\u{C}"])
        #expect(try decodeObject(" { \"k\" : \"v\" } ") == ["k": "v"])
    }

    @Test(arguments: [
        "", "[", "[\"a\"", "[\"a\",]", "[1]", "{\"a\":1}", "[\"a\"] x", "[\"\\x\"]", "[\"\\u12\"]", "[\"a\nb\"]",
        "{\"a\"}",
    ])
    func rejectsMalformedInput(text: String) {
        #expect(throws: JSONParseError.self) {
            if text.hasPrefix("{") { _ = try decodeObject(text) } else { _ = try decodeArray(text) }
        }
    }
}
