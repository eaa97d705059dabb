/// The `join` / `wait` progress line: a bar, done/total, rate and ETA, e.g.
/// `████████░░░░░░░░░░░░  42/100  12.5/s  ETA 5s`, or `########------------  42/100 …` where
/// the locale's character set is not UTF-8.
enum ProgressBar {
    /// The width of the bar itself, in cells.
    static let barWidth = 24

    /// The characters the bar is drawn with: block elements in a UTF-8 locale, ASCII elsewhere
    /// (`LANG=C`, a serial console), where the blocks would show as mojibake.
    struct Glyphs: Equatable {
        var done: String
        var remaining: String

        static let blocks = Glyphs(done: "█", remaining: "░")
        static let ascii = Glyphs(done: "#", remaining: "-")

        /// The glyphs for the character set of the locale `environment` selects: the first
        /// non-empty of `LC_ALL`, `LC_CTYPE` and `LANG`, as setlocale(3) picks it (none is the
        /// C locale, which is ASCII).
        static func forLocale(environment: [String: String]) -> Glyphs {
            let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
            guard let codeset = locale?.split(separator: ".", maxSplits: 1).dropFirst().first else { return .ascii }
            let name = codeset.prefix { $0 != "@" }.lowercased()
            return name == "utf-8" || name == "utf8" ? .blocks : .ascii
        }
    }

    /// Renders one progress line (no newline) for `done` of `total` after `elapsed`.
    static func line(done: Int, total: Int, elapsed: Duration, glyphs: Glyphs = .blocks) -> String {
        let total = max(total, done)
        let filled = total == 0 ? barWidth : min(barWidth, done * barWidth / total)
        let bar =
            String(repeating: glyphs.done, count: filled)
            + String(repeating: glyphs.remaining, count: barWidth - filled)
        let seconds = elapsed.seconds
        var text = bar + "  \(done)/\(total)"
        guard done > 0, seconds >= 0.2 else { return text + "  --/s  ETA --" }
        let rate = Double(done) / seconds
        text += "  " + formatRate(rate) + "/s"
        let remaining = Double(total - done) / rate
        text += "  ETA " + formatETA(remaining)
        return text
    }

    /// A rate with one decimal below 100 (`12.5`), whole above (`1234`).
    static func formatRate(_ rate: Double) -> String {
        if rate >= 100 { return String(Int(rate.rounded())) }
        let tenths = Int((rate * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// A remaining time to the second: `0s`, `45s`, `3m05s`, `2h10m`.
    static func formatETA(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--" }
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + twoDigits(whole % 60) + "s" }
        return "\(whole / 3600)h" + twoDigits(whole / 60 % 60) + "m"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

/// Draws the progress line in place on a terminal: each update rewrites the line with
/// `\r` and clears what was left of the previous one; `finish` ends it with a newline.
struct ProgressDisplay {
    private let stream: OutputStream
    private let glyphs: ProgressBar.Glyphs
    private let start = ContinuousClock.now
    private var lastCounts: (done: Int, total: Int)?
    private var lastDraw = ContinuousClock.now

    init(stream: OutputStream, glyphs: ProgressBar.Glyphs) {
        self.stream = stream
        self.glyphs = glyphs
    }

    /// Redraws the line when the counts changed, and twice a second for the rate and ETA.
    mutating func update(done: Int, total: Int) {
        let now = ContinuousClock.now
        if let lastCounts, lastCounts == (done, total), now - lastDraw < .milliseconds(500) { return }
        lastCounts = (done, total)
        lastDraw = now
        let line = ProgressBar.line(done: done, total: total, elapsed: now - start, glyphs: glyphs)
        stream.write("\r" + line + "\u{1B}[K")
    }

    /// Draws the final state and moves to the next line.
    mutating func finish(done: Int, total: Int) {
        lastCounts = nil
        update(done: done, total: total)
        stream.write("\n")
    }
}
