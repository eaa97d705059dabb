import JobqCore
import Testing

@Suite struct JSONStringTests {
    func written(_ string: String) -> String {
        var output: [UInt8] = []
        JSONString.write(string, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Reads the string at the start of `text`; returns it and where reading stopped.
    func read(_ text: String) throws(JSONParseError) -> (String, Int) {
        var bytes = Array(text.utf8)
        var index = 0
        let string = try bytes.withUnsafeMutableBufferPointer { buffer throws(JSONParseError) in
            try JSONString.read(UnsafeBufferPointer(buffer), at: &index)
        }
        return (string, index)
    }

    @Test(arguments: [
        "", "plain", "quote \" and \\ backslash", "tab\tnew\nline\r", "\u{0}\u{1}\u{1F}\u{7F}", "naïve 日本語 🎉", "/",
    ])
    func roundTrips(string: String) throws {
        let text = written(string)
        let (back, end) = try read(text + ", more")
        #expect(back == string)
        #expect(end == text.utf8.count)
    }

    @Test func escapesControlCharactersQuotesBackslashesAndDelete() {
        #expect(written("a\"b\\c\n\u{1}\u{7F}é") == #""a\"b\\c\n\u0001\u007fé""#)
    }

    @Test func readsEveryEscapeAndSurrogatePairs() throws {
        #expect(try read(#""\/\b\f\n\r\t\"\\\u00e9\ud83c\udf89""#).0 == "/\u{8}\u{C}\n\r\t\"\\é🎉")
        #expect(try read(#""\u00E9""#).0 == "é")
    }

    @Test(
        arguments: [
            (#"abc""#, "expected a string", 0),
            (#""abc"#, "unterminated string", 4),
            ("\"a\nb\"", "control character in a string (escape it)", 2),
            (#""a\x""#, "invalid escape", 3),
            (#""\u12zz""#, #"invalid \u escape"#, 5),
            (#""\u12"#, #"unterminated \u escape"#, 3),
            (#""\ud83c""#, #"unpaired surrogate in \u escape"#, 7),
            (#""\udf89""#, #"unpaired surrogate in \u escape"#, 7),
        ] as [(String, String, Int)])
    func rejectsMalformedStrings(text: String, reason: String, offset: Int) {
        #expect(throws: JSONParseError(reason: reason, offset: offset)) { _ = try read(text) }
    }
}
