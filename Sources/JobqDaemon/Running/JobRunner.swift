import JobqCore
import JobqStore

/// How a run ended, as a runner reports it; the dispatcher turns it into a `JobResult`.
public struct RunReport: Sendable {
    public var outcome: JobOutcome
    /// What the run wrote (none for an in-process handler).
    public var output: CapturedOutput

    public init(outcome: JobOutcome, output: CapturedOutput = CapturedOutput()) {
        self.outcome = outcome
        self.output = output
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

/// Runs jobs. `jobqd` runs them as processes (`ProcessRunner`); a Swift program that
/// embeds jobq can run them in-process (`HandlerRunner`).
///
/// The job is already marked running when `run` is called. The runner must honour
/// `control`: when it is asked to stop — a cancel, the job's timeout (armed by the caller),
/// the drain — end the run promptly and report the stop reason's outcome
/// (`StopReason.outcome(exitCode:signal:)`).
public protocol JobRunner: Sendable {
    func run(_ job: ClaimedJob, control: RunControl, observer: RunObserver) async -> RunReport
}

extension StopReason {
    /// The outcome recorded for a run stopped for this reason, with how its process ended once
    /// told to stop, if it had one (an interrupted run records nothing: it runs again).
    public func outcome(exitCode: Int? = nil, signal: Int? = nil) -> JobOutcome {
        switch self {
        case .cancelled: .cancelled(reason: "cancelled by request", exitCode: exitCode, signal: signal)
        case .timedOut(let after): .timedOut(after: after, exitCode: exitCode, signal: signal)
        case .interrupted: .interrupted
        }
    }
}
