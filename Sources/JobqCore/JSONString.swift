/// Why a JSON text could not be read; `offset` is the 0-based byte position of the problem.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public init(reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "invalid JSON at column \(offset + 1): \(reason)" }
}

/// JSON strings (RFC 8259) as jobq writes and reads them: the one escaper and unescaper behind
/// the CLI's `--json` output and `--batch` lines and the store's `argv` and `env` columns.
public enum JSONString {
    /// Appends `string` quoted, as UTF-8, with quotes, backslashes, every control character and
    /// DEL escaped (so output stays one line and safe on a terminal); other text as it is.
    public static func write(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0xF)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Reads the string whose opening quote is at `index` in `bytes` (UTF-8) and moves `index`
    /// past its closing quote. Takes every escape, surrogate pairs included; rejects raw control
    /// characters, unknown escapes and unpaired surrogates.
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int) throws(JSONParseError) -> String {
        func fail(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: index) }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        index += 1
        // Most strings have no escape: one scan, one copy.
        var end = index
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        while end < bytes.count, bytes[end] != quote, bytes[end] != backslash, bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
            index = end + 1
            return text
        }
        var decoded: [UInt8] = []
        var runStart = index
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                decoded.append(contentsOf: bytes[runStart..<index])
                index += 1
                return String(decoding: decoded, as: UTF8.self)
            }
            if byte < 0x20 { throw fail("control character in a string (escape it)") }
            if byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            decoded.append(contentsOf: bytes[runStart..<index])
            index += 1
            guard index < bytes.count else { throw fail("unterminated string") }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escaped)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"): UTF8.encode(try unicodeEscape(bytes, at: &index)) { decoded.append($0) }
            default:
                index -= 1
                throw fail("invalid escape")
            }
            runStart = index
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The scalar of a `\u` escape whose four hex digits start at `index`, with its low surrogate
    /// when it is a high one.
    private static func unicodeEscape(
        _ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int
    ) throws(JSONParseError) -> Unicode.Scalar {
        let first = try hex4(bytes, at: &index)
        if (0xD800..<0xDC00).contains(first) {
            guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw JSONParseError(reason: "unpaired surrogate in \\u escape", offset: index) }
            index += 2
            let second = try hex4(bytes, at: &index)
            guard (0xDC00..<0xE000).contains(second),
                let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            else { throw JSONParseError(reason: "unpaired surrogate in \\u escape", offset: index) }
            return scalar
        }
        guard let scalar = Unicode.Scalar(first) else {
            throw JSONParseError(reason: "unpaired surrogate in \\u escape", offset: index)
        }
        return scalar
    }

    private static func hex4(
        _ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int
    ) throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw JSONParseError(reason: "unterminated \\u escape", offset: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw JSONParseError(reason: "invalid \\u escape", offset: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
