import JobqCore
import JobqStore
import Logging
import Synchronization

/// Group commit for the daemon's state transitions. Consumers submit "started" (and wait
/// for it), process records, output and "finished" (and go on); one writer task commits
/// everything submitted meanwhile in one transaction, then resumes the waiting starts and
/// runs the finish callbacks. Throughput thus grows with concurrency instead of paying one
/// commit per job.
///
/// Process records and output are only for after a crash and for `jobq logs --follow`, so
/// they wait for the next start or finish — or the next `writeRecords()`, which the
/// dispatcher calls on its output-saving tick — rather than costing a commit each: a short
/// job's process record rides along with its own finish. A crash meanwhile is covered by
/// recovery, which finds a run's processes by the `JOBQ_*` variables in their environment
/// when no record was written.
///
/// A transition, once submitted, is written even if the submitting task is cancelled:
/// losing it would lose a job's result. When a commit fails (disk full, database locked
/// past the busy timeout) nothing of the batch was written; the writer keeps it and retries
/// it with backoff, so nothing is lost and work resumes when the fault clears — unless
/// `stopRetrying()` came first (a second stop signal): then the batch is dropped, and its jobs,
/// still `running` in the database, run again after the next daemon's recovery.
final class TransitionWriter: Sendable {
    /// A job that is about to run (or, with `process`, has just been spawned).
    struct Start: Sendable {
        var id: JobID
        var attempt: Int
        var startedAt: Timestamp
    }

    private enum Transition: Sendable {
        case start(Start, CheckedContinuation<Bool, Never>)
        case process(JobID, attempt: Int, ProcessRecord)
        case output(JobID, attempt: Int, CapturedOutput)
        case finish(JobResult, @Sendable (JobState?) -> Void)
    }

    private struct State {
        var pending: [Transition] = []
        /// Something in `pending` must be written now: a start, a finish, or records asked
        /// for by `writeRecords()`.
        var due = false
        var closed = false
        var retrying = true
    }

    private let store: JobStore
    private let clock: any DispatcherClock
    private let logger: Logger
    private let state = Mutex(State())
    private let wake = WakeSignal()
    /// Rung by `stopRetrying()`: ends a wait before the next retry.
    private let retriesStopped = WakeSignal()
    private let onClaimable: @Sendable () -> Void

    /// - Parameter onClaimable: called after a commit whose results may have made jobs
    ///   claimable (a retry back to pending, dependents released): time to claim again.
    init(
        store: JobStore, clock: any DispatcherClock, logger: Logger,
        onClaimable: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.onClaimable = onClaimable
    }

    /// Marks a claimed job running. Returns `false` when the job must not run after all
    /// (it was cancelled while it waited in memory).
    func start(_ start: Start) async -> Bool {
        await withCheckedContinuation { continuation in
            submit(.start(start, continuation))
        }
    }

    /// Records the process a running job runs as, so a later daemon can stop it after a
    /// crash. Ordered before the job's finish; nobody waits for it, and it is written with the
    /// next start or finish, or at the next `writeRecords()`.
    func recordProcess(_ id: JobID, attempt: Int, _ process: ProcessRecord) {
        submit(.process(id, attempt: attempt, process), due: false)
    }

    /// Saves a running job's output so far (for `jobq logs --follow`). Nobody waits for it;
    /// written like a process record.
    func recordOutput(_ id: JobID, attempt: Int, _ output: CapturedOutput) {
        submit(.output(id, attempt: attempt, output), due: false)
    }

    /// Records how a run ended, then calls `written` with the job's resulting state (`nil`
    /// when the result was fenced off because a newer attempt owns the job). Returns at once:
    /// the consumer goes on to its next job while the result waits for the next group commit.
    func finish(_ result: JobResult, then written: @escaping @Sendable (JobState?) -> Void) {
        submit(.finish(result, written))
    }

    /// Writes the waiting process records and output now, with whatever else is pending.
    func writeRecords() {
        let waiting = state.withLock { state in
            defer { state.due = state.due || !state.pending.isEmpty }
            return !state.due && !state.pending.isEmpty
        }
        if waiting { wake.signal() }
    }

    /// From now on a batch that cannot be written is dropped rather than retried, and a wait
    /// before a retry ends at once: for a daemon told to stop now, which must not hang on a full
    /// disk. What is dropped is logged.
    func stopRetrying() {
        state.withLock { $0.retrying = false }
        retriesStopped.signal()
    }

    /// Lets `run()` return once everything submitted so far is written.
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }

    /// Queues `transition`; a `due` one wakes the writer, the others wait for it.
    private func submit(_ transition: Transition, due: Bool = true) {
        state.withLock { state in
            state.pending.append(transition)
            state.due = state.due || due
        }
        if due { wake.signal() }
    }

    /// The writer loop. Runs until `close()` and every submitted transition is written.
    func run() async {
        await write(on: store)
    }

    /// The loop itself, on the store's own thread: each batch is written without a hop to
    /// that thread and back, and a wake-up lands there directly.
    private func write(on store: isolated JobStore) async {
        var failures = 0
        while true {
            let (batch, closed) = state.withLock { state -> ([Transition], Bool) in
                guard state.due || state.closed else { return ([], false) }
                defer {
                    state.pending.removeAll(keepingCapacity: true)
                    state.due = false
                }
                return (state.pending, state.closed)
            }
            if batch.isEmpty {
                if closed { return }
                // Not cancellable on purpose: transitions submitted later must still be written.
                await wake.wait()
                continue
            }
            while true {
                do {
                    try commit(batch, on: store)
                    failures = 0
                    break
                } catch {
                    if !state.withLock({ $0.retrying }) {
                        drop(batch, because: error)
                        break
                    }
                    failures += 1
                    let delay = RetryBackoff(base: .milliseconds(50), cap: .seconds(5)).delay(afterFailure: failures)
                    logger.error(
                        "cannot write job transitions; retrying",
                        metadata: [
                            "error": "\(error)", "transitions": "\(batch.count)",
                            "retry.in": "\(DurationText.format(delay))",
                        ])
                    await retriesStopped.wait(timeout: delay, on: clock)
                }
            }
        }
    }

    /// Gives up on a batch that cannot be written: its starts do not run, and its results are
    /// lost (their jobs stay `running` in the database until recovery puts them back).
    private func drop(_ batch: [Transition], because error: any Error) {
        var jobs: [JobID] = []
        for transition in batch {
            switch transition {
            case .start(let start, let continuation):
                continuation.resume(returning: false)
                jobs.append(start.id)
            case .finish(let result, _): jobs.append(result.id)
            case .process, .output: break
            }
        }
        logger.error(
            "cannot write job transitions; dropping them, as asked to stop now: these jobs run again after the next start",
            metadata: [
                "error": "\(error)", "transitions": "\(batch.count)",
                "job.ids": "\(jobs.prefix(20).map(String.init).joined(separator: ","))\(jobs.count > 20 ? ",…" : "")",
            ])
    }

    /// Writes one batch in one transaction (`JobStore.record`: all or nothing, so a failed
    /// batch is retried whole), then resumes the waiting starts and runs the finish callbacks.
    private func commit(_ batch: [Transition], on store: isolated JobStore) throws(StoreError) {
        var transitions = RunTransitions()
        var outputs: [JobID: (attempt: Int, output: CapturedOutput)] = [:]
        // A run that ends in this batch needs no process record.
        var ending: [JobID: Int] = [:]
        for case .finish(let result, _) in batch { ending[result.id] = result.attempt }
        for transition in batch {
            switch transition {
            case .start(let start, _): transitions.starts.append((start.id, start.attempt, start.startedAt, nil))
            case .process(let id, let attempt, let record):
                if ending[id] != attempt { transitions.processes.append((id, attempt, record)) }
            case .output(let id, let attempt, let output): outputs[id] = (attempt, output)
            case .finish(let result, _): transitions.results.append(result)
            }
        }
        transitions.outputs = outputs.map { ($0.key, $0.value.attempt, $0.value.output) }
        let (started, finished, newlyClaimable) = try store.record(transitions)
        if newlyClaimable { onClaimable() }
        for transition in batch {
            switch transition {
            case .start(let start, let continuation): continuation.resume(returning: started.contains(start.id))
            case .finish(let result, let written): written(finished[result.id])
            case .process, .output: break
            }
        }
    }
}
