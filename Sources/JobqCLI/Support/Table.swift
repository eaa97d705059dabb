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
        var widths = columns.map(\.title.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.text.count)
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
                    if text.count > room { text = String(text.prefix(room - 1)) + "…" }
                }
                let padding = isLast && columns[index].alignment == .left ? 0 : widths[index] - text.count
                let padded =
                    columns[index].alignment == .right
                    ? String(repeating: " ", count: max(0, padding)) + cell.style.apply(text, enabled: color)
                    : cell.style.apply(text, enabled: color) + String(repeating: " ", count: max(0, padding))
                line += padded
                used += text.count + max(0, padding)
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
