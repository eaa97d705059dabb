/// Where a job is in its life. `pending` and `running` are *unfinished* (they
/// count towards `join`); the other three are terminal.
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting: due now, delayed until `run_at`, or waiting for dependencies.
    case pending
    /// Its process (or in-process handler) has started and not yet ended.
    case running
    /// Ended with exit status 0.
    case succeeded
    /// Ended unsuccessfully with no retries left.
    case failed
    /// Cancelled by a user, or because a dependency failed or was cancelled.
    case cancelled

    /// A terminal state is final until a user retries the job; reaching one is `task_done`.
    public var isTerminal: Bool {
        switch self {
        case .pending, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}
