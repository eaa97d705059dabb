import Synchronization

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

    /// The first error writing to standard output (an errno), or 0.
    private static let standardOutputError = Atomic<Int32>(0)

    /// How writing to standard output failed.
    enum Failure {
        /// The reader went away (`jobq list | head -1`): ends quietly, as the default SIGPIPE would.
        case closedPipe
        /// Anything else (a full disk): says why.
        case error(String)
    }

    /// How writing to standard output failed, if it did: the command's result was lost, so
    /// `jobq` must not exit 0.
    static var standardOutputFailure: Failure? {
        let error = standardOutputError.load(ordering: .relaxed)
        guard error != 0 else { return nil }
        return error == EPIPE ? .closedPipe : .error(String(cString: strerror(error)))
    }

    /// Writes all of `bytes`, retrying short writes and interrupted calls. An error on standard
    /// output is kept for `standardOutputFailure`; one on standard error is ignored: there is
    /// nowhere left to report it.
    func write(_ bytes: some Collection<UInt8>) {
        let contiguous = Array(bytes)
        contiguous.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    if descriptor == STDOUT_FILENO {
                        _ = Self.standardOutputError.compareExchange(
                            expected: 0, desired: errno, ordering: .relaxed)
                    }
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
