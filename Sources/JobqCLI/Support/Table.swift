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
    /// The columns the text takes on a terminal: 2 for a wide character (CJK ideographs, kana,
    /// Hangul, fullwidth forms, emoji), 0 for one made only of combining marks and format
    /// characters, 1 otherwise — what wcwidth(3) gives in a UTF-8 locale, without needing one.
    var terminalWidth: Int {
        reduce(0) { $0 + $1.terminalWidth }
    }

    /// The longest start of the text that fits in `columns` terminal columns.
    func prefix(terminalWidth columns: Int) -> String {
        var result = ""
        var used = 0
        for character in self {
            used += character.terminalWidth
            guard used <= columns else { break }
            result.append(character)
        }
        return result
    }
}

extension Character {
    /// The terminal columns of this character (see `String.terminalWidth`).
    var terminalWidth: Int {
        var visible = false
        for scalar in unicodeScalars {
            let properties = scalar.properties
            if properties.isEmojiPresentation || scalar.value == 0xFE0F || Self.isWide(scalar.value) { return 2 }
            switch properties.generalCategory {
            case .nonspacingMark, .enclosingMark, .format: continue
            default: visible = true
            }
        }
        return visible ? 1 : 0
    }

    /// East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth.txt, W and F).
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
            0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF,
            0x20000...0x2FFFD, 0x30000...0x3FFFD:
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
            return control && !kept.contains(scalar)
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
            default:
                let hex = String(scalar.value, radix: 16)
                result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            }
        }
        return result
    }
}
