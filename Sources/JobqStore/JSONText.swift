/// The two JSON shapes the `jobs` table stores, `argv` (an array of strings) and `env` (an
/// object of strings), written and read by hand: they are on the hot path of every enqueue and
/// claim, and a general-purpose coder costs more than the rest of the row. Reading accepts any
/// valid JSON of these shapes (whitespace, every escape), since people may edit rows with `sqlite3`.
enum JSONText {
    /// Why stored JSON could not be read.
    struct DecodingError: Error, CustomStringConvertible {
        var description: String
    }

    static func encode(_ strings: [String]) -> String {
        var out = "["
        for (index, string) in strings.enumerated() {
            if index > 0 { out += "," }
            appendQuoted(string, to: &out)
        }
        out += "]"
        return out
    }

    /// Keys are written sorted, so equal objects are stored as equal text.
    static func encode(_ object: [String: String]) -> String {
        if object.isEmpty { return "{}" }
        var out = "{"
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendQuoted(key, to: &out)
            out += ":"
            appendQuoted(object[key]!, to: &out)
        }
        out += "}"
        return out
    }

    static func decodeArray(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> [String] {
        var parser = Parser(bytes)
        var result: [String] = []
        try parser.expect(UInt8(ascii: "["))
        if try !parser.consumeIf(UInt8(ascii: "]")) {
            repeat {
                result.append(try parser.string())
            } while try parser.consumeIf(UInt8(ascii: ","))
            try parser.expect(UInt8(ascii: "]"))
        }
        try parser.end()
        return result
    }

    static func decodeObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> [String: String] {
        var parser = Parser(bytes)
        var result: [String: String] = [:]
        try parser.expect(UInt8(ascii: "{"))
        if try !parser.consumeIf(UInt8(ascii: "}")) {
            repeat {
                let key = try parser.string()
                try parser.expect(UInt8(ascii: ":"))
                result[key] = try parser.string()
            } while try parser.consumeIf(UInt8(ascii: ","))
            try parser.expect(UInt8(ascii: "}"))
        }
        try parser.end()
        return result
    }

    private static func appendQuoted(_ string: String, to out: inout String) {
        out += "\""
        // Fast path: most words need no escaping.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += string
            out += "\""
            return
        }
        var plainStart = string.unicodeScalars.startIndex
        let scalars = string.unicodeScalars
        var index = plainStart
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escape = nil
            }
            if let escape {
                out.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                out += escape
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        out.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        out += "\""
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func skipSpace() {
            while position < bytes.count,
                bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x0D || bytes[position] == 0x09
            {
                position += 1
            }
        }

        mutating func expect(_ byte: UInt8) throws(DecodingError) {
            guard try consumeIf(byte) else {
                throw DecodingError(description: "expected '\(Character(UnicodeScalar(byte)))' at byte \(position)")
            }
        }

        mutating func consumeIf(_ byte: UInt8) throws(DecodingError) -> Bool {
            skipSpace()
            guard position < bytes.count else { throw DecodingError(description: "unexpected end of JSON") }
            if bytes[position] == byte {
                position += 1
                return true
            }
            return false
        }

        mutating func end() throws(DecodingError) {
            skipSpace()
            if position != bytes.count { throw DecodingError(description: "trailing characters at byte \(position)") }
        }

        mutating func string() throws(DecodingError) -> String {
            try expect(UInt8(ascii: "\""))
            // Fast path: no escapes before the closing quote.
            var end = position
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"),
                bytes[end] >= 0x20
            {
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
                position = end + 1
                return text
            }
            var out: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { break }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar), position + 1 < bytes.count,
                            bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                        {
                            position += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else {
                                throw DecodingError(description: "invalid surrogate pair at byte \(position)")
                            }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        out.append(contentsOf: Array(String(UnicodeScalar(scalar) ?? "\u{FFFD}").utf8))
                    default:
                        throw DecodingError(description: "invalid escape at byte \(position - 1)")
                    }
                default:
                    guard byte >= 0x20 else {
                        throw DecodingError(description: "control character in string at byte \(position - 1)")
                    }
                    out.append(byte)
                }
            }
            throw DecodingError(description: "unterminated string")
        }

        private mutating func hex4() throws(DecodingError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw DecodingError(description: "truncated \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[position..<position + 4] {
                guard let digit = UInt32(String(UnicodeScalar(byte)), radix: 16) else {
                    throw DecodingError(description: "invalid \\u escape at byte \(position)")
                }
                value = value << 4 | digit
            }
            position += 4
            return value
        }
    }
}
