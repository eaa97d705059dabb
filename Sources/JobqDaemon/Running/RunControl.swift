import JobqStore
import Synchronization

/// Why a run is being stopped before it ended by itself.
public enum StopReason: Sendable, Hashable {
    /// `jobq cancel`: the job ends `cancelled`.
    case cancelled
    /// The job's `--timeout` passed: a failed attempt.
    case timedOut(after: Duration)
    /// The daemon is stopping and the drain timeout passed: the job goes back to pending
    /// without using up a retry.
    case interrupted
}

/// The handle through which the dispatcher stops one run. The first reason wins; the
/// runner installs what "stop" means (signal a process group, cancel a task).
public final class RunControl: Sendable {
    /// The job being run.
    public let jobID: JobID
    /// Its attempt number (the fencing token of this run).
    public let attempt: Int

    private struct State {
        var reason: StopReason?
        var onStop: (@Sendable (StopReason) -> Void)?
        var output: (@Sendable () -> CapturedOutput)?
        var savedBytes: Int64 = 0
    }

    private let state = Mutex(State())

    init(jobID: JobID, attempt: Int) {
        self.jobID = jobID
        self.attempt = attempt
    }

    /// The reason the run was asked to stop, if it was.
    public var stopReason: StopReason? {
        state.withLock { $0.reason }
    }

    /// Asks the run to stop. Later requests keep the first reason.
    func requestStop(_ reason: StopReason) {
        let handler = state.withLock { state -> (@Sendable (StopReason) -> Void)? in
            guard state.reason == nil else { return nil }
            state.reason = reason
            return state.onStop
        }
        handler?(reason)
    }

    /// Installs the action that stops the run; runs it at once if a stop was already asked for.
    public func onStop(_ handler: @escaping @Sendable (StopReason) -> Void) {
        let pending = state.withLock { state -> StopReason? in
            state.onStop = handler
            return state.reason
        }
        if let pending { handler(pending) }
    }

    /// Lets the dispatcher read the run's output so far, to save it now and then for
    /// `jobq logs --follow`. Runners whose jobs write no output need not call it.
    public func provideOutput(_ source: @escaping @Sendable () -> CapturedOutput) {
        state.withLock { $0.output = source }
    }

    /// The output so far if it grew since the last call, else `nil`.
    func outputIfChanged() -> CapturedOutput? {
        guard let source = state.withLock({ $0.output }) else { return nil }
        let output = source()
        let written = output.stdoutBytes + output.stderrBytes
        return state.withLock { state in
            guard written != state.savedBytes else { return nil }
            state.savedBytes = written
            return output
        }
    }
}

/// The runs in progress, by job id, so that cancel requests and the drain timeout reach them.
final class RunningJobs: Sendable {
    private let runs = Mutex<[JobID: RunControl]>([:])
    /// Rung each time the last run in progress ends.
    let emptied = WakeSignal()

    func insert(_ control: RunControl) {
        runs.withLock { $0[control.jobID] = control }
    }

    func remove(_ control: RunControl) {
        let emptied = runs.withLock { runs in
            if runs[control.jobID] === control { runs[control.jobID] = nil }
            return runs.isEmpty
        }
        if emptied { self.emptied.signal() }
    }

    var count: Int { runs.withLock { $0.count } }

    /// Stops the run of `id` if it is this attempt's.
    func stop(_ id: JobID, attempt: Int, reason: StopReason) {
        let control = runs.withLock { $0[id] }
        if let control, control.attempt == attempt { control.requestStop(reason) }
    }

    /// Stops every run (the drain timeout passed).
    func stopAll(_ reason: StopReason) {
        for control in runs.withLock({ Array($0.values) }) { control.requestStop(reason) }
    }

    /// A snapshot of the runs in progress.
    var all: [RunControl] { runs.withLock { Array($0.values) } }
}
