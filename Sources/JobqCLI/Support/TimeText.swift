import JobqCore

#if canImport(Glibc)
    import Glibc
#endif

/// Instants as `jobq` reads them (`--at`) and shows them (RFC 3339 in JSON, local time and
/// "3s ago" for people).
///
/// `--at` accepts:
/// - RFC 3339 with an offset: `2030-01-02T03:04:05Z`, `2030-01-02T03:04:05.250+02:00`
///   (a space may replace the `T`);
/// - local wall-clock time without an offset: `2030-01-02 03:04` or `2030-01-02 03:04:05`
///   (also with `T`);
/// - a local time of day, `14:30` or `14:30:15`: its next occurrence — today, or tomorrow
///   when it has passed (as at(1) reads it);
/// - a time relative to now: `+90s`, `+5m`, `+1.5h` (any duration `DurationText` reads).
enum TimeText {
    /// Why a time did not parse; the message quotes the input and lists the accepted forms.
    struct ParseError: Error, CustomStringConvertible {
        var input: String
        var description: String {
            "invalid time '\(input)': expected RFC 3339 (2030-01-02T03:04:05Z), local 'YYYY-MM-DD HH:MM[:SS]',"
                + " a time of day 'HH:MM[:SS]', or +DURATION (e.g. +5m)"
        }
    }

    /// Parses an `--at` value; `now` anchors the relative form.
    static func parse(_ text: String, now: Timestamp) throws(ParseError) -> Timestamp {
        if text.hasPrefix("+") {
            guard let duration = try? DurationText.parse(String(text.dropFirst())) else {
                throw ParseError(input: text)
            }
            return now.advanced(by: duration)
        }
        guard let timestamp = parseDateTime(Array(text.utf8)) ?? nextTimeOfDay(Array(text.utf8), after: now) else {
            throw ParseError(input: text)
        }
        return timestamp
    }

    /// `HH:MM` or `HH:MM:SS` in local time: today's, or tomorrow's when today's is before `now`.
    private static func nextTimeOfDay(_ bytes: [UInt8], after now: Timestamp) -> Timestamp? {
        let digit = { (byte: UInt8) -> Int? in
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
        }
        func pair(at index: Int) -> Int? {
            guard let tens = digit(bytes[index]), let ones = digit(bytes[index + 1]) else { return nil }
            return tens * 10 + ones
        }
        guard bytes.count == 5 || (bytes.count == 8 && bytes[5] == UInt8(ascii: ":")), bytes[2] == UInt8(ascii: ":"),
            let hour = pair(at: 0), let minute = pair(at: 3), hour < 24, minute < 60
        else { return nil }
        let second = bytes.count == 8 ? pair(at: 6) : 0
        guard let second, second < 60 else { return nil }
        var time = time_t(now.milliseconds / 1000)
        var fields = tm()
        guard localtime_r(&time, &fields) != nil else { return nil }
        for dayAhead in 0...1 {
            var day = fields
            day.tm_mday += Int32(dayAhead)
            day.tm_hour = Int32(hour)
            day.tm_min = Int32(minute)
            day.tm_sec = Int32(second)
            // Let the C library decide whether DST applies on that day (and normalize the date).
            day.tm_isdst = -1
            let seconds = mktime(&day)
            guard seconds != -1 else { return nil }
            let candidate = Timestamp(milliseconds: Int64(seconds) * 1000)
            if candidate >= now || dayAhead == 1 { return candidate }
        }
        return nil
    }

    private static func parseDateTime(_ bytes: [UInt8]) -> Timestamp? {
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += digits
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2)
        else { return nil }
        var second = 0
        var milliseconds = 0
        if expect(":") {
            guard let value = number(2) else { return nil }
            second = value
            if expect(".,") {
                var scale = 100
                var digits = 0
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                    milliseconds += Int(bytes[index] - UInt8(ascii: "0")) * scale
                    scale /= 10
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
            }
        }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month - 1)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = Int32(min(second, 59))

        let seconds: Int
        if index == bytes.count {
            // No offset: local wall-clock time; let the C library decide whether DST applies.
            fields.tm_isdst = -1
            let local = mktime(&fields)
            guard local != -1 else { return nil }
            seconds = Int(local)
        } else {
            var offsetSeconds = 0
            if expect("Zz") {
                offsetSeconds = 0
            } else {
                guard index < bytes.count else { return nil }
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                guard expect("+-"), let offsetHours = number(2), expect(":"), let offsetMinutes = number(2),
                    offsetHours < 24, offsetMinutes < 60
                else { return nil }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            }
            guard index == bytes.count else { return nil }
            seconds = Int(timegm(&fields)) - offsetSeconds
        }
        return Timestamp(milliseconds: Int64(seconds) * 1000 + Int64(milliseconds))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2030-01-02T03:04:05.250Z` (the `--json` form).
    static func rfc3339(_ timestamp: Timestamp) -> String {
        let (seconds, milliseconds) = splitMilliseconds(timestamp.milliseconds)
        var time = time_t(seconds)
        var fields = tm()
        gmtime_r(&time, &fields)
        return dateTime(fields, separator: "T") + "." + padded(milliseconds, 3) + "Z"
    }

    /// Local wall-clock time to the second, e.g. `2030-01-02 04:04:05` (the human form).
    static func local(_ timestamp: Timestamp) -> String {
        let (seconds, _) = splitMilliseconds(timestamp.milliseconds)
        var time = time_t(seconds)
        var fields = tm()
        localtime_r(&time, &fields)
        return dateTime(fields, separator: " ")
    }

    /// A short distance from `now`: `now`, `3s ago`, `in 2m`, `5h ago`, `in 3d`.
    static func relative(_ timestamp: Timestamp, now: Timestamp) -> String {
        let delta = timestamp.milliseconds - now.milliseconds
        // Rounded to the nearest unit, so a 5-minute delay just set shows as "in 5m", not "in 4m".
        func rounded(_ value: UInt64, to unit: UInt64) -> UInt64 { (value + unit / 2) / unit }
        let seconds = rounded(delta.magnitude, to: 1000)
        if seconds == 0 { return "now" }
        let amount: String
        if seconds < 60 {
            amount = "\(seconds)s"
        } else if rounded(seconds, to: 60) < 60 {
            amount = "\(rounded(seconds, to: 60))m"
        } else if rounded(seconds, to: 3600) < 24 {
            amount = "\(rounded(seconds, to: 3600))h"
        } else {
            amount = "\(rounded(seconds, to: 86_400))d"
        }
        return delta < 0 ? amount + " ago" : "in " + amount
    }

    private static func splitMilliseconds(_ value: Int64) -> (seconds: Int64, milliseconds: Int) {
        var seconds = value / 1000
        var milliseconds = value % 1000
        if milliseconds < 0 {
            seconds -= 1
            milliseconds += 1000
        }
        return (seconds, Int(milliseconds))
    }

    private static func dateTime(_ fields: tm, separator: String) -> String {
        padded(Int(fields.tm_year) + 1900, 4) + "-" + padded(Int(fields.tm_mon) + 1, 2) + "-"
            + padded(Int(fields.tm_mday), 2) + separator + padded(Int(fields.tm_hour), 2) + ":"
            + padded(Int(fields.tm_min), 2) + ":" + padded(Int(fields.tm_sec), 2)
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
