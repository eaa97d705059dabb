/// Why a `jobq` command failed, and so the exit status it ends with (SPEC §4).
/// Printed as one line, `jobq: <description>`, on stderr.
enum CLIError: Error, CustomStringConvertible, Equatable {
    /// The input was wrong (a bad batch line, an empty command): exit status 64.
    case usage(String)
    /// The operation failed (no such job, a waited job failed, the database is unusable): exit status 1.
    case failed(String)
    /// `join` or `wait` gave up at `--timeout`: exit status 124.
    case timedOut(String)

    var description: String {
        switch self {
        case .usage(let message), .failed(let message), .timedOut(let message): message
        }
    }

    /// The process exit status for this failure.
    var exitStatus: Int32 {
        switch self {
        case .usage: ExitStatus.usage
        case .failed: ExitStatus.failure
        case .timedOut: ExitStatus.timedOut
        }
    }

    /// The same failure with `prefix` before its message (e.g. `line 3: `).
    func prefixed(_ prefix: String) -> CLIError {
        switch self {
        case .usage(let message): .usage(prefix + message)
        case .failed(let message): .failed(prefix + message)
        case .timedOut(let message): .timedOut(prefix + message)
        }
    }
}

/// The exit statuses `jobq` documents (SPEC §4).
enum ExitStatus {
    /// The command did what was asked.
    static let success: Int32 = 0
    /// The operation failed; stderr says why in one line.
    static let failure: Int32 = 1
    /// The command line or its input was wrong (`EX_USAGE`).
    static let usage: Int32 = 64
    /// `join` or `wait` reached `--timeout` (as timeout(1) does).
    static let timedOut: Int32 = 124
}
