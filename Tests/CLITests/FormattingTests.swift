import Foundation
import JobqCore
import Testing

@testable import JobqCLI

@Suite("formatting and parsing (in process)")
struct FormattingTests {
    @Test("JSON strings escape quotes, backslashes and control characters; other text stays UTF-8")
    func jsonEscaping() throws {
        let text = "q\"b\\s\n\r\t\u{0}\u{1F}\u{7F} é ☃ 😀 </script>"
        let bytes = JSONValue.object([JSONMember("k", .string(text)), JSONMember("n", .null)]).serialized()
        let serialized = String(decoding: bytes, as: UTF8.self)
        #expect(serialized == #"{"k":"q\"b\\s\n\r\t\u0000\u001f\u007f é ☃ 😀 </script>","n":null}"#)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(decoded["k"] as? String == text)
        #expect(try JSONValue.parse(bytes) == .object([JSONMember("k", .string(text)), JSONMember("n", .null)]))
    }

    @Test("the JSON reader handles escapes, numbers and nesting, and rejects what RFC 8259 does")
    func jsonReading() throws {
        #expect(
            try JSONValue.parse(Array(#" {"a":[1,-2,3.5e2,true,false,null,"\u00e9\ud83d\ude00\/"]} "#.utf8))
                == .object([
                    JSONMember(
                        "a",
                        .array([
                            .integer(1), .integer(-2), .double(350), .bool(true), .bool(false), .null, .string("é😀/"),
                        ]))
                ]))
        for bad in [
            "", "{", "{\"a\" 1}", "[1,]", "01", "1.", "\"\\x\"", "\"\u{01}\"", "\"\\ud800\"", "nul", "{} {}",
            String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        ] {
            #expect(throws: JSONParseError.self, "\(bad.debugDescription)") { try JSONValue.parse(Array(bad.utf8)) }
        }
    }

    @Test("times: RFC 3339 out, RFC 3339 / local / relative in")
    func times() throws {
        let instant = Timestamp(milliseconds: 1_893_553_445_250)  // 2030-01-02T03:04:05.250Z
        #expect(TimeText.rfc3339(instant) == "2030-01-02T03:04:05.250Z")
        #expect(TimeText.rfc3339(Timestamp(milliseconds: -1)) == "1969-12-31T23:59:59.999Z")
        let now = Timestamp(milliseconds: 1_000_000)
        #expect(try TimeText.parse("2030-01-02T03:04:05.250Z", now: now) == instant)
        #expect(try TimeText.parse("2030-01-02 05:04:05.25+02:00", now: now) == instant)
        #expect(try TimeText.parse("2030-01-01T22:04:05.250-05:00", now: now) == instant)
        #expect(try TimeText.parse("+1.5s", now: now) == Timestamp(milliseconds: 1_001_500))
        let local = try TimeText.parse("2030-01-02 03:04", now: now)
        #expect(TimeText.local(local) == "2030-01-02 03:04:00")
        // A time of day: the next one, today or tomorrow (local time).
        let morning = try TimeText.parse("2030-01-02 10:00", now: now)
        #expect(try TimeText.parse("11:15", now: morning) == TimeText.parse("2030-01-02 11:15", now: now))
        #expect(try TimeText.parse("10:00", now: morning) == morning)
        #expect(try TimeText.parse("09:59:30", now: morning) == TimeText.parse("2030-01-03 09:59:30", now: now))
        #expect(
            try TimeText.parse("23:59", now: TimeText.parse("2030-12-31 23:59:01", now: now))
                == TimeText.parse("2031-01-01 23:59", now: now))
        for bad in [
            "tomorrow", "2030-13-01 00:00", "2030-02-29 00:00", "2030-01-02T03:04:05+2", "+", "+x", "2030-01-02",
            "24:00", "12:60", "9:05", "12:00:60", "12:00:", "12-00", "12:00Z",
        ] {
            #expect(throws: TimeText.ParseError.self, "\(bad)") { try TimeText.parse(bad, now: now) }
        }
        #expect(TimeText.relative(Timestamp(milliseconds: 997_000), now: now) == "3s ago")
        #expect(TimeText.relative(Timestamp(milliseconds: 1_120_000), now: now) == "in 2m")
        #expect(TimeText.relative(Timestamp(milliseconds: 1_000_400), now: now) == "now")
        // Rounded, not cut: a delay of 5m, a moment after it was set.
        #expect(TimeText.relative(Timestamp(milliseconds: 1_000_000 + 299_900), now: now) == "in 5m")
        #expect(TimeText.relative(Timestamp(milliseconds: 1_000_000 + 59_600), now: now) == "in 1m")
        #expect(TimeText.relative(Timestamp(milliseconds: 1_000_000 - 3_599_000), now: now) == "1h ago")
        #expect(TimeText.relative(Timestamp(milliseconds: 1_000_000 - 3 * 86_400_000), now: now) == "3d ago")
    }

    @Test("logs --follow prints what is new by the byte counts, also where the tail looks the same")
    func outputTail() {
        func new(_ tail: String, written: Int64, shown: Int64) -> String {
            String(decoding: OutputTail.newBytes(tail: Array(tail.utf8), written: written, shown: shown), as: UTF8.self)
        }
        #expect(new("abc", written: 3, shown: 0) == "abc")
        #expect(new("abcdef", written: 6, shown: 3) == "def")
        // The tail was cut at the front: it keeps the last 5 of 8 bytes written.
        #expect(new("defgh", written: 8, shown: 6) == "gh")
        #expect(new("abcdef", written: 6, shown: 6) == "")
        // Identical-looking tails: 3 more bytes were written all the same.
        #expect(new("xxxxx", written: 8, shown: 5) == "xxx")
        // More came than the tail holds: what it holds.
        #expect(new("abc", written: 100, shown: 10) == "abc")
    }

    @Test("the progress line shows the bar, done/total, rate and ETA")
    func progressLine() {
        #expect(
            ProgressBar.line(done: 0, total: 10, elapsed: .seconds(1)) == String(repeating: "░", count: 24)
                + "  0/10  --/s  ETA --")
        #expect(
            ProgressBar.line(done: 5, total: 10, elapsed: .seconds(2))
                == String(repeating: "█", count: 12) + String(repeating: "░", count: 12) + "  5/10  2.5/s  ETA 2s")
        #expect(
            ProgressBar.line(done: 5, total: 10, elapsed: .seconds(2), glyphs: .ascii)
                == String(repeating: "#", count: 12) + String(repeating: "-", count: 12) + "  5/10  2.5/s  ETA 2s")
        #expect(ProgressBar.formatETA(125) == "2m05s")
        #expect(ProgressBar.formatETA(7300) == "2h01m")
        #expect(ProgressBar.formatRate(1234.4) == "1234")
    }

    /// (environment, whether the bar is drawn with block elements)
    static let locales: [([String: String], Bool)] = [
        ([:], false),
        (["LANG": "C"], false),
        (["LANG": "POSIX"], false),
        (["LANG": "en_US.UTF-8"], true),
        (["LANG": "de_DE.utf8"], true),
        (["LANG": "sr_RS.UTF-8@latin"], true),
        (["LANG": "en_US.ISO-8859-1"], false),
        (["LANG": "C.UTF-8", "LC_ALL": "C"], false),
        (["LANG": "C", "LC_CTYPE": "C.UTF-8"], true),
        (["LANG": "C.UTF-8", "LC_ALL": ""], true),
        (["LC_ALL": "en_GB.UTF-8", "LC_CTYPE": "C"], true),
    ]

    @Test("the progress bar is drawn in ASCII unless the locale is UTF-8", arguments: locales)
    func progressGlyphs(environment: [String: String], blocks: Bool) {
        #expect(ProgressBar.Glyphs.forLocale(environment: environment) == (blocks ? .blocks : .ascii))
    }

    @Test("tables align columns and escape control characters")
    func table() {
        var table = Table([.init("ID", .right), .init("NAME")])
        table.rows = [[Table.Cell("7"), Table.Cell("a\nb")], [Table.Cell("123"), Table.Cell("x")]]
        #expect(table.render(color: false) == " ID  NAME\n  7  a\\nb\n123  x\n")
        #expect(table.render(color: false, width: 8) == " ID  NA…\n  7  a\\…\n123  x\n")
        #expect(table.render(color: true).contains("\u{1B}[1mID\u{1B}[0m"))
        // Wide characters take two columns, combining marks none: the columns still line up.
        var wide = Table([.init("QUEUE"), .init("N", .right), .init("COMMAND")])
        wide.rows = [
            [Table.Cell("日本"), Table.Cell("1"), Table.Cell("echo 🚀 done")],
            [Table.Cell("e\u{301}te\u{301}"), Table.Cell("22"), Table.Cell("x")],
        ]
        #expect(
            wide.render(color: false) == "QUEUE   N  COMMAND\n日本    1  echo 🚀 done\nété    22  x\n")
        #expect(wide.render(color: false, width: 16).split(separator: "\n")[1] == "日本    1  echo…")
        // As glibc's wcswidth counts them: per code point.
        #expect("👨‍👩‍👧".terminalWidth == 6 && "a\u{200D}".terminalWidth == 1 && "ｶﾅ".terminalWidth == 2)
        #expect("कार्य".terminalWidth == 4 && "🈐𛅐".terminalWidth == 4 && "🖥".terminalWidth == 1)
        #expect("\u{AD}".terminalWidth == 1 && "🇫🇷".terminalWidth == 2 && "\u{D7B0}".terminalWidth == 0)
        #expect("日本語".prefix(terminalWidth: 5) == "日本")
    }

    @Test("output shown by jobq show keeps lines and tabs, and escapes what could drive the terminal")
    func outputLines() {
        #expect("a\tb\nc\n".displaySafeLines == "a\tb\nc\n")
        #expect("\u{1B}[2Jred\r\0\n".displaySafeLines == "\\x1b[2Jred\\r\\x00\n")
        #expect("a\tb\n".displaySafe == "a\\tb\\n")
        // Bidi overrides, isolates and marks, and the Unicode line separators, cannot reorder a row.
        #expect("a\u{202E}cba\u{2066}x\u{2069}\u{2028}".displaySafe == "a\\u202ecba\\u2066x\\u2069\\u2028")
        #expect("שלום \u{200F}".displaySafeLines == "שלום \\u200f")
    }

    @Test("the batch reader skips blank lines and numbers the rest")
    func batchLines() throws {
        let defaults = JobSpec(command: .argv([]))
        let specs = try BatchParser.parse(
            Array("\n{\"cmd\":[\"a\"]}\r\n \n{\"shell\":\"b\"}".utf8), defaults: defaults,
            now: Timestamp(milliseconds: 0))
        #expect(specs.map(\.line) == [2, 4])
        #expect(specs.map(\.spec.command) == [.argv(["a"]), .shell("b")])
        // A byte-order mark before the first line is skipped; anywhere else it is the line's text.
        let marked = try BatchParser.parse(
            [0xEF, 0xBB, 0xBF] + Array("{\"cmd\":[\"a\"]}\n".utf8), defaults: defaults, now: Timestamp(milliseconds: 0))
        #expect(marked.map(\.spec.command) == [.argv(["a"])])
        #expect(throws: CLIError.self) {
            try BatchParser.parse(
                Array("{\"cmd\":[\"a\"]}\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("{\"cmd\":[\"a\"]}\n".utf8),
                defaults: defaults, now: Timestamp(milliseconds: 0))
        }
        #expect(
            throws: CLIError.usage(
                "line 1: unknown key \"x\" (known: after, at, backoff, cmd, cwd, delay, env, priority, queue, retries, shell, timeout)"
            )
        ) {
            try BatchParser.parse(
                Array("{\"cmd\":[\"a\"],\"x\":1}".utf8), defaults: defaults, now: Timestamp(milliseconds: 0))
        }
    }
}
