/// Durations as people write them on the command line and in batch files:
/// `1.5` (seconds), `500ms`, `2s`, `5m`, `1h`, and `1d`.
public enum DurationText {
    /// Why a duration did not parse; the message quotes the input.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let input: String
        /// A well-formed duration longer than `longest`.
        public var tooLong = false
        public var description: String {
            tooLong
                ? "invalid duration '\(input)': at most 3650d (ten years)"
                : "invalid duration '\(input)': expected a number with an optional unit ms, s, m, h or d (e.g. 500ms, 2s, 1.5m)"
        }
    }

    /// The longest duration accepted: ten years is far beyond any sensible delay or timeout,
    /// and keeps the arithmetic on times safe.
    public static let longest = Duration.seconds(3650 * 86_400)

    private static let units: [(suffix: String, milliseconds: Double)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Parses `text`; negative, non-finite and absurdly large values are rejected.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let trimmed = text.trimmingASCIISpaces()
        var number = Substring(trimmed)
        var scale = 1000.0
        // "ms" must be tried before "m" and "s".
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            scale = unit.milliseconds
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite
        else { throw ParseError(input: text) }
        let milliseconds = value * scale
        guard milliseconds <= Double(longest.wholeMilliseconds) else { throw ParseError(input: text, tooLong: true) }
        return .milliseconds(Int64(milliseconds.rounded()))
    }

    /// A compact rendering that `parse` reads back: `250ms`, `2s`, `1.5s`, `5m`, `2h`.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.wholeMilliseconds
        if ms % 3_600_000 == 0 && ms != 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms != 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        if ms < 1000 { return "\(ms)ms" }
        return "\(Double(ms) / 1000)s"
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
