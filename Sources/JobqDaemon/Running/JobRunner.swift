import JobqCore
import JobqStore

/// How a run ended, as a runner reports it; the dispatcher turns it into a `JobResult`.
public struct RunReport: Sendable {
    public var outcome: JobOutcome
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(outcome: JobOutcome, stdout: [UInt8] = [], stderr: [UInt8] = []) {
        self.outcome = outcome
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// What a runner may tell the dispatcher while a job runs.
public struct RunObserver: Sendable {
    /// The job's process exists: record it so a later daemon can stop it after a crash.
    public var processStarted: @Sendable (ProcessRecord) -> Void

    public init(processStarted: @escaping @Sendable (ProcessRecord) -> Void) {
        self.processStarted = processStarted
    }
}

/// The output of a run so far (the kept tails), for `jobq logs --follow`.
public struct RunOutput: Sendable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Every byte written so far, kept or not: tells whether anything changed.
    public var written: UInt64

    public init(stdout: [UInt8], stderr: [UInt8], written: UInt64) {
        self.stdout = stdout
        self.stderr = stderr
        self.written = written
    }
}

/// Runs jobs. `jobqd` runs them as processes (`ProcessRunner`); a Swift program that
/// embeds jobq can run them in-process (`HandlerRunner`).
///
/// The job is already marked running when `run` is called. The runner must honour
/// `control`: when it is asked to stop — a cancel, the job's timeout (armed by the caller),
/// the drain — end the run promptly and report the stop reason's outcome (`StopReason.outcome`).
public protocol JobRunner: Sendable {
    func run(_ job: ClaimedJob, control: RunControl, observer: RunObserver) async -> RunReport
}

extension StopReason {
    /// The outcome recorded for a run stopped for this reason.
    public var outcome: JobOutcome {
        switch self {
        case .cancelled: .cancelled(reason: "cancelled by request")
        case .timedOut(let after): .timedOut(after: after)
        case .interrupted: .interrupted
        }
    }
}
