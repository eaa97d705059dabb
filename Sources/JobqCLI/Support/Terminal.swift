#if canImport(Glibc)
    import Glibc
#endif

/// One of the process's standard output streams, written with `write(2)` directly: no
/// buffering surprises when stdout and stderr interleave, and no Foundation.
struct OutputStream: Sendable {
    /// Standard output: results.
    static let standardOutput = OutputStream(descriptor: STDOUT_FILENO)
    /// Standard error: diagnostics and the progress bar.
    static let standardError = OutputStream(descriptor: STDERR_FILENO)

    let descriptor: Int32

    /// Writes all of `bytes`, retrying short writes and interrupted calls. Errors (a closed
    /// pipe, a full disk) are ignored: there is nowhere left to report them.
    func write(_ bytes: some Collection<UInt8>) {
        let contiguous = Array(bytes)
        contiguous.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Writes `text` as UTF-8.
    func write(_ text: String) {
        write(Array(text.utf8))
    }

    /// Whether this stream is a terminal (and not a pipe or file).
    var isTerminal: Bool { isatty(descriptor) == 1 }

    /// The terminal's width in columns, if it is a terminal that reports one.
    var terminalColumns: Int? {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Whether to colour this stream: only on a terminal, never when `NO_COLOR` is set to a
    /// non-empty value (https://no-color.org) or `TERM=dumb`.
    func usesColor(environment: [String: String]) -> Bool {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        if environment["TERM"] == "dumb" { return false }
        return isTerminal
    }
}

/// ANSI text attributes for human output; rendered only when colour is enabled.
enum TextStyle: Sendable {
    case plain, bold, dim, red, green, yellow, cyan

    private var code: String {
        switch self {
        case .plain: ""
        case .bold: "1"
        case .dim: "2"
        case .red: "31"
        case .green: "32"
        case .yellow: "33"
        case .cyan: "36"
        }
    }

    /// `text` wrapped in this style's escape sequence when `enabled`.
    func apply(_ text: String, enabled: Bool) -> String {
        guard enabled, self != .plain else { return text }
        return "\u{1B}[\(code)m" + text + "\u{1B}[0m"
    }
}
