import JobqCore

/// The two JSON shapes the `jobs` table stores, `argv` (an array of strings) and `env` (an
/// object of strings), written and read without a general-purpose JSON value in between: they
/// are on the hot path of every enqueue and claim. Strings go through `JSONString`, like all of
/// jobq's JSON. Reading accepts any valid JSON of these shapes (whitespace, every escape), since
/// people may edit rows with `sqlite3`.
enum JSONText {
    static func encode(_ strings: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, string) in strings.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONString.write(string, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Keys are written sorted, so equal objects are stored as equal text.
    static func encode(_ object: [String: String]) -> String {
        if object.isEmpty { return "{}" }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONString.write(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONString.write(object[key]!, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func decodeArray(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> [String] {
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

    static func decodeObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> [String: String] {
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

        mutating func expect(_ byte: UInt8) throws(JSONParseError) {
            guard try consumeIf(byte) else {
                throw JSONParseError(reason: "expected '\(Character(UnicodeScalar(byte)))'", offset: position)
            }
        }

        mutating func consumeIf(_ byte: UInt8) throws(JSONParseError) -> Bool {
            skipSpace()
            guard position < bytes.count else { throw JSONParseError(reason: "unexpected end", offset: position) }
            if bytes[position] == byte {
                position += 1
                return true
            }
            return false
        }

        mutating func end() throws(JSONParseError) {
            skipSpace()
            if position != bytes.count {
                throw JSONParseError(reason: "unexpected text after the value", offset: position)
            }
        }

        mutating func string() throws(JSONParseError) -> String {
            skipSpace()
            return try JSONString.read(bytes, at: &position)
        }
    }
}
