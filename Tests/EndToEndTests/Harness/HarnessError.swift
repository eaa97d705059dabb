/// What went wrong in the end-to-end harness itself (as opposed to an expectation about jobq).
enum HarnessError: Error, CustomStringConvertible {
    /// A condition on the daemon or the database did not hold in time.
    case timedOut(what: String, detail: String, log: String)
    /// `jobq` did not do what a helper needed (e.g. print a job id).
    case unexpectedOutput(command: [String], result: String)

    var description: String {
        switch self {
        case .timedOut(let what, let detail, let log):
            "timed out waiting for \(what)\(detail.isEmpty ? "" : " (\(detail))"); jobqd's log:\n\(log)"
        case .unexpectedOutput(let command, let result):
            "jobq \(command.joined(separator: " ")): \(result)"
        }
    }
}
