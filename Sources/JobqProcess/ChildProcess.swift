import Glibc
import Synchronization

/// A running (or finished) job process started by a `ProcessSupervisor`.
///
/// The handle may be dropped at any time: the supervisor still reaps the process, stops what it leaves in its
/// group, and closes the pipes.
public final class ChildProcess: Sendable {
    /// The process id of the main process.
    public var pid: Int32 { record.pid }
    /// The process group (== `pid`: every job starts a new session and so a new group). Record it with
    /// `startTime` so a later daemon can stop leftovers after a crash (`ProcessSupervisor.stopLeftoverGroup`).
    public var processGroup: Int32 { record.pid }
    /// When the main process started (`/proc/<pid>/stat` field 22, clock ticks since boot).
    public var startTime: UInt64 { record.startTime }

    let record: ChildRecord
    let engine: SupervisorEngine

    init(record: ChildRecord, engine: SupervisorEngine) {
        self.record = record
        self.engine = engine
    }

    /// Waits until the job is over and returns how its main process ended. "Over" means: the main process has
    /// been reaped, anything it left in its process group has been stopped (SIGTERM, then SIGKILL after the
    /// spec's `killGrace`), and the pipes have been drained and closed — so `output()` is then final.
    ///
    /// Suspends without occupying a thread. If the waiting task is cancelled this throws `CancellationError`
    /// at once, and nothing else happens: the process is **not** signalled, and a later `wait()` still returns
    /// its termination. Stopping a job is always an explicit `terminateGroup(grace:)`.
    public func wait() async throws(CancellationError) -> Termination {
        let waiterID = record.nextWaiterID.add(1, ordering: .relaxed).newValue
        let termination: Termination? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Termination?, Never>) in
                let ready: Termination?? = record.state.withLock { state in
                    if let termination = state.termination { return .some(termination) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[waiterID] = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            record.state.withLock { $0.waiters.removeValue(forKey: waiterID) }?.resume(returning: nil)
        }
        guard let termination else { throw CancellationError() }
        return termination
    }

    /// Stops the job: SIGTERM to its whole process group now, SIGKILL to the group after `grace` if anything
    /// is left, then reaped as usual (`wait()` reports how it ended). Returns at once; the signals are sent by
    /// the supervisor thread. Idempotent: SIGTERM is sent once, and a later call can only bring the SIGKILL
    /// closer. Does nothing once the job is over.
    public func terminateGroup(grace: Duration) {
        engine.requestTermination(serial: record.serial, grace: grace.nanoseconds)
    }

    /// The output kept so far (the tails of stdout and stderr); callable at any time, final after `wait()`.
    public func output() -> ProcessOutput {
        record.state.withLock { state in
            ProcessOutput(
                stdout: state.stdout.bytes,
                stderr: state.stderr.bytes,
                stdoutByteCount: state.stdout.totalBytes,
                stderrByteCount: state.stderr.totalBytes
            )
        }
    }
}

/// The state of one child shared between its handle and the supervisor thread.
final class ChildRecord: Sendable {
    struct State: Sendable {
        var stdout: OutputTail
        var stderr: OutputTail
        /// Set once the job is over.
        var termination: Termination?
        var waiters: [UInt64: CheckedContinuation<Termination?, Never>] = [:]
    }

    /// Names the child in epoll tokens and requests; never reused within a supervisor.
    let serial: UInt64
    let pid: Int32
    let startTime: UInt64
    let state: Mutex<State>
    let nextWaiterID = Atomic<UInt64>(0)

    init(serial: UInt64, pid: Int32, startTime: UInt64, outputTailLimit: Int) {
        self.serial = serial
        self.pid = pid
        self.startTime = startTime
        self.state = Mutex(
            State(stdout: OutputTail(limit: outputTailLimit), stderr: OutputTail(limit: outputTailLimit)))
    }
}

extension Duration {
    /// Whole nanoseconds, negative durations as 0, saturating at `UInt64.max`.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflow2) = whole.addingReportingOverflow(UInt64(max(0, attoseconds) / 1_000_000_000))
        return overflow2 ? .max : total
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
