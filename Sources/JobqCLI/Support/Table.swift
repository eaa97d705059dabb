/// An aligned text table for human output: a header row, then one row per item,
/// columns separated by two spaces, numbers right-aligned.
struct Table {
    /// Where a cell's text sits within its column.
    enum Alignment { case left, right }

    /// A column's header and alignment.
    struct Column {
        var title: String
        var alignment: Alignment

        init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    /// One cell; its text is made display-safe (control characters escaped) when rendered.
    struct Cell: ExpressibleByStringLiteral {
        var text: String
        var style: TextStyle

        init(_ text: String, _ style: TextStyle = .plain) {
            self.text = text.displaySafe
            self.style = style
        }

        init(stringLiteral value: String) {
            self.init(value)
        }
    }

    var columns: [Column]
    var rows: [[Cell]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    /// The table as lines ending in `\n`. With `width`, the last column is cut to fit
    /// (ending in `…`), so rows never wrap on a terminal.
    func render(color: Bool, width: Int? = nil) -> String {
        var widths = columns.map(\.title.terminalWidth)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.text.terminalWidth)
            }
        }
        var output = ""
        let header = columns.map { Cell($0.title, .bold) }
        for row in [header] + rows {
            var line = ""
            var used = 0
            for (index, cell) in row.enumerated() where index < columns.count {
                let isLast = index == columns.count - 1
                var text = cell.text
                if isLast, let width {
                    let room = max(1, width - used)
                    if text.terminalWidth > room { text = text.prefix(terminalWidth: room - 1) + "…" }
                }
                let textWidth = text.terminalWidth
                let padding = isLast && columns[index].alignment == .left ? 0 : widths[index] - textWidth
                let padded =
                    columns[index].alignment == .right
                    ? String(repeating: " ", count: max(0, padding)) + cell.style.apply(text, enabled: color)
                    : cell.style.apply(text, enabled: color) + String(repeating: " ", count: max(0, padding))
                line += padded
                used += textWidth + max(0, padding)
                if !isLast {
                    line += "  "
                    used += 2
                }
            }
            output += line + "\n"
        }
        return output
    }
}

extension String {
    /// The columns the text takes on a terminal, as wcswidth(3) counts them in a UTF-8 locale
    /// (without needing one; glibc 2.36 and this agree on all but 1 of 150,758 code points): 2
    /// for each wide character (CJK ideographs, kana, Hangul syllables, fullwidth forms, emoji
    /// shown as emoji), 0 for combining marks and format characters, 1 for the rest.
    var terminalWidth: Int {
        unicodeScalars.reduce(0) { $0 + $1.terminalWidth }
    }

    /// The longest start of the text, in whole characters, that fits in `columns` terminal columns.
    func prefix(terminalWidth columns: Int) -> String {
        var result = ""
        var used = 0
        for character in self {
            used += character.unicodeScalars.reduce(0) { $0 + $1.terminalWidth }
            guard used <= columns else { break }
            result.append(character)
        }
        return result
    }
}

extension Unicode.Scalar {
    /// The terminal columns of this code point (see `String.terminalWidth`).
    var terminalWidth: Int {
        switch value {
        // Shown although format characters: the soft hyphen, Arabic number signs and the like;
        // regional indicators one by one (a flag is two).
        case 0x00AD, 0x0600...0x0605, 0x06DD, 0x070F, 0x0890...0x0891, 0x08E2, 0x110BD, 0x110CD,
            0x1F1E6...0x1F1FF:
            return 1
        case 0x1160...0x11FF, 0xD7B0...0xD7FF: return 0  // Hangul vowel and final jamo
        default: break
        }
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: return properties.isEmojiPresentation || Self.isWide(value) ? 2 : 1
        }
    }

    /// East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth.txt, W and F), emoji aside.
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x9FFF, 0xA000...0xA4CF,
            0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF,
            0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x18DFF,
            0x1AFF0...0x1B2FF, 0x1F200...0x1F265, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            true
        default: false
        }
    }
}

extension String {
    /// The text with control characters shown as escapes (`\n`, `\t`, `\x1b`), so a queue
    /// name or command cannot break a table or send escape sequences to the terminal.
    var displaySafe: String { escapingControlCharacters() }

    /// The text with control characters escaped as `displaySafe` does, except newlines and
    /// tabs: a job's output shown as lines, which still cannot drive the terminal.
    var displaySafeLines: String { escapingControlCharacters(except: ["\n", "\t"]) }

    private func escapingControlCharacters(except kept: Set<Unicode.Scalar> = []) -> String {
        func isEscaped(_ scalar: Unicode.Scalar) -> Bool {
            let control = scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
            return (control || Self.isLayoutControl(scalar.value)) && !kept.contains(scalar)
        }
        guard unicodeScalars.contains(where: isEscaped) else { return self }
        var result = ""
        for scalar in unicodeScalars {
            guard isEscaped(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x0A: result += "\\n"
            case 0x09: result += "\\t"
            case 0x0D: result += "\\r"
            case let value where value > 0xFF:
                result += "\\u" + String(value, radix: 16)
            default:
                let hex = String(scalar.value, radix: 16)
                result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            }
        }
        return result
    }

    /// Characters that move or reorder what follows them on the line rather than showing
    /// anything: the bidirectional embeddings, overrides, isolates and marks (a queue name with
    /// U+202E would show the rest of its row reversed) and the line and paragraph separators.
    private static func isLayoutControl(_ value: UInt32) -> Bool {
        switch value {
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
