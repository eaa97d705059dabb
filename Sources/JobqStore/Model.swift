import JobqCore

#if canImport(Glibc)
    import Glibc
#endif

/// A job's identity: the `jobs.id` column, never reused (the table is AUTOINCREMENT).
public typealias JobID = Int64

/// A job as stored: what to run, how, and what happened so far. Every time is a `Timestamp`
/// (milliseconds since the Unix epoch, the unit of the database columns).
public struct Job: Sendable, Hashable {
    /// Its id (`jobs.id`).
    public var id: JobID
    /// The queue it belongs to.
    public var queue: String
    /// Where it is in its life.
    public var state: JobState
    /// Higher runs first; equal priorities run in enqueue order.
    public var priority: Int
    /// What it runs: an argv or a shell script.
    public var command: JobCommand
    /// The absolute directory it runs in.
    public var workingDirectory: String
    /// Variables added to the daemon's environment for this job.
    public var environment: [String: String]
    /// Not started before this instant: the enqueue time, `--delay`/`--at`, or the next retry.
    public var runAt: Timestamp
    /// A run longer than this is stopped and counts as a failed attempt; `nil` for none.
    public var timeout: Duration?
    /// How many failed attempts are retried.
    public var maxRetries: Int
    /// The base of the exponential backoff between retries.
    public var backoff: Duration
    /// Every start counts, interrupted runs included (`JOBQ_ATTEMPT` of the last start).
    public var attempts: Int
    /// Failed attempts, the ones counted against `maxRetries`.
    public var failures: Int
    /// The last attempt's exit status, if its main process exited.
    public var exitCode: Int?
    /// The signal that ended the last attempt's main process, if one did.
    public var signal: Int?
    /// Why the job failed or was cancelled (or why its last attempt failed, while it waits to retry).
    public var error: String?
    /// The last bytes (at most `JobStore.outputTailLimit`) the job wrote to stdout.
    public var stdout: [UInt8]
    /// The last bytes (at most `JobStore.outputTailLimit`) the job wrote to stderr.
    public var stderr: [UInt8]
    /// How many bytes the current (or last) attempt wrote to stdout in all; `stdout` keeps the
    /// last of them.
    public var stdoutBytes: Int64
    /// How many bytes the current (or last) attempt wrote to stderr in all.
    public var stderrBytes: Int64
    /// When it was enqueued.
    public var enqueuedAt: Timestamp
    /// When its last attempt started.
    public var startedAt: Timestamp?
    /// When it became terminal (`nil` while unfinished).
    public var finishedAt: Timestamp?
    /// A user asked to cancel it while it was running; the daemon stops it.
    public var cancelRequested: Bool
    /// The jobs that must succeed before this one starts.
    public var dependencies: [JobID]
    /// A daemon has taken it into memory to start it (still `pending` until it starts).
    public var claimed: Bool
    /// It waits for a future `run_at` (`--delay`, `--at`, a retry's backoff); cleared by the
    /// daemon's first claim after that time.
    public var delayed: Bool
    /// How many of `dependencies` have not succeeded yet (meaningful while `pending`).
    public var unmetDependencies: Int
    /// The process of the current run, while `running`.
    public var process: ProcessRecord?
}

/// What `JobStore.cancel` did to one job, decided in the same transaction as the change.
public enum CancelOutcome: Sendable, Hashable {
    /// It was pending and is now cancelled (its pending dependents with it).
    case cancelled
    /// It is running: the daemon stops its process group, then records it cancelled.
    case stopping
    /// It had ended already, in this state; nothing changed.
    case alreadyEnded(JobState)
}

/// A queue's own settings; `nil` means "follow the daemon's default".
public struct QueueSettings: Sendable, Hashable {
    /// The queue.
    public var name: String
    /// How many of its jobs run at once.
    public var concurrency: Int?
    /// How many of its jobs the daemon holds in memory (the bounded in-memory queue).
    public var capacity: Int?
    /// How long an idle consumer waits for work before it ends.
    public var idleTimeout: Duration?
    /// A paused queue starts no new jobs.
    public var paused: Bool

    /// Settings that follow every daemon default unless given.
    public init(
        name: String, concurrency: Int? = nil, capacity: Int? = nil, idleTimeout: Duration? = nil,
        paused: Bool = false
    ) {
        self.name = name
        self.concurrency = concurrency
        self.capacity = capacity
        self.idleTimeout = idleTimeout
        self.paused = paused
    }
}

/// How many jobs of a queue are in each state, with its settings (`jobq status`).
public struct QueueStats: Sendable, Hashable {
    /// The queue.
    public var name: String
    /// How many of its jobs are `pending`.
    public var pending: Int
    /// How many of its jobs are `running`.
    public var running: Int
    /// How many of its jobs are `succeeded`.
    public var succeeded: Int
    /// How many of its jobs are `failed`.
    public var failed: Int
    /// How many of its jobs are `cancelled`.
    public var cancelled: Int
    /// Whether the queue is paused.
    public var paused: Bool
    /// The queue's own setting, or `nil` when it follows the daemon's default.
    public var concurrency: Int?
    /// The queue's own setting, or `nil` when it follows the daemon's default.
    public var capacity: Int?

    /// Pending plus running: what `join` waits for.
    public var unfinished: Int { pending + running }
}

/// A job the daemon has claimed to start: everything it needs to run it. It stays `pending`
/// (and unclaimable by anyone else) until `markRunning`, or until `release`/`requeueInterrupted`.
public struct ClaimedJob: Sendable, Hashable {
    /// The job.
    public var id: JobID
    /// Its queue.
    public var queue: String
    /// Its priority: higher runs first.
    public var priority: Int
    /// What to run.
    public var command: JobCommand
    /// The absolute directory to run it in.
    public var workingDirectory: String
    /// Variables to add to the daemon's environment.
    public var environment: [String: String]
    /// Stop it after this long (a failed attempt); `nil` for no limit.
    public var timeout: Duration?
    /// The number this start will have (the job's `attempts` + 1): `JOBQ_ATTEMPT`, and the
    /// fencing token that `markRunning`, `updateOutput` and `finish` must present.
    public var attempt: Int
}

/// How a run ended, as the daemon reports it to `finish`.
public enum JobOutcome: Sendable, Hashable {
    /// The main process exited with status 0.
    case succeeded
    /// A failed attempt: a non-zero exit, a signal, or a failure to start (`reason` says which
    /// when there is no exit code or signal). Retried while retries are left.
    case failed(exitCode: Int?, signal: Int?, reason: String?)
    /// Stopped because it ran longer than its timeout: a failed attempt, retried while retries are
    /// left. `exitCode` or `signal`: how its process ended once told to stop (neither for an
    /// in-process handler).
    case timedOut(after: Duration, exitCode: Int? = nil, signal: Int? = nil)
    /// Stopped because a user cancelled it; cascades to its dependents. `exitCode` or `signal` as
    /// for `timedOut`.
    case cancelled(reason: String?, exitCode: Int? = nil, signal: Int? = nil)
    /// Cut short because the daemon stopped: back to `pending`, without using up a retry.
    case interrupted
}

/// The result of one run (one attempt) of a job.
public struct JobResult: Sendable, Hashable {
    /// The job.
    public var id: JobID
    /// The fencing token from `ClaimedJob.attempt`; a result for another attempt is ignored.
    public var attempt: Int
    /// How the run ended.
    public var outcome: JobOutcome
    /// What it wrote.
    public var output: CapturedOutput
    /// When the run ended; also the base of a retry's backoff.
    public var finishedAt: Timestamp

    /// A result; the output defaults to none.
    public init(
        id: JobID, attempt: Int, outcome: JobOutcome, output: CapturedOutput = CapturedOutput(), finishedAt: Timestamp
    ) {
        self.id = id
        self.attempt = attempt
        self.outcome = outcome
        self.output = output
        self.finishedAt = finishedAt
    }
}

/// What a run wrote to stdout and stderr: the tails the store keeps (the last
/// `JobStore.outputTailLimit` bytes of each) and how many bytes it wrote in all, by which
/// `jobq logs --follow` tells new output from old even where the tail looks the same.
public struct CapturedOutput: Sendable, Hashable {
    /// The end of its stdout.
    public var stdout: [UInt8]
    /// The end of its stderr.
    public var stderr: [UInt8]
    /// Every byte written to stdout, kept or not.
    public var stdoutBytes: Int64
    /// Every byte written to stderr, kept or not.
    public var stderrBytes: Int64

    /// Output of which the byte counts default to the tails' own lengths (nothing was cut off).
    public init(stdout: [UInt8] = [], stderr: [UInt8] = [], stdoutBytes: Int64? = nil, stderrBytes: Int64? = nil) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutBytes = stdoutBytes ?? Int64(stdout.count)
        self.stderrBytes = stderrBytes ?? Int64(stderr.count)
    }
}

/// Identifies a job's process for orphan cleanup after a crash: the pid alone could have been
/// reused, so its start time (field 22 of `/proc/<pid>/stat`, in clock ticks) is kept too.
public struct ProcessRecord: Sendable, Hashable {
    /// The job's main process.
    public var pid: Int32
    /// Its process group (the job runs in a group of its own).
    public var processGroup: Int32
    /// Its start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
    public var startTime: UInt64

    /// A record of a started process.
    public init(pid: Int32, processGroup: Int32, startTime: UInt64) {
        self.pid = pid
        self.processGroup = processGroup
        self.startTime = startTime
    }
}

/// A job a dead daemon left `running`, with the process it had started (to stop before re-running it).
public struct InterruptedRun: Sendable, Hashable {
    /// The job.
    public var id: JobID
    /// The attempt that was running.
    public var attempt: Int
    /// Its process, if the dead daemon recorded one.
    public var process: ProcessRecord?
}

/// How hard each commit of a connection works to survive power loss.
public enum Durability: Sendable, Hashable {
    /// `synchronous=FULL`: every commit is fsynced before it returns, so it survives power loss.
    /// What `jobq add` uses: the job is durable when the command returns.
    case full
    /// `synchronous=NORMAL` in WAL mode: commits are fsynced at checkpoints, not one by one.
    /// What the daemon uses for its state transitions: a power loss can roll back the last few,
    /// which only makes a job run again. A crash of the process alone loses nothing.
    case normal
}

extension JobOutcome: CustomStringConvertible {
    /// "succeeded", "failed: exit status 3", "timed out after 2s": for logs.
    public var description: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed(let exitCode, let signal, let reason):
            "failed: " + (reason ?? exitCode.map { "exit status \($0)" } ?? signal.map { "signal \($0)" } ?? "unknown")
        case .timedOut(let after, _, _): "timed out after \(DurationText.format(after))"
        case .cancelled(let reason, _, _): "cancelled" + (reason.map { ": \($0)" } ?? "")
        case .interrupted: "interrupted"
        }
    }
}

/// What the daemon writes about runs in one group commit (`JobStore.record`).
public struct RunTransitions: Sendable {
    /// Claimed jobs that start now (see `JobStore.markRunning`).
    public var starts: [(id: JobID, attempt: Int, startedAt: Timestamp, process: ProcessRecord?)] = []
    /// The processes running attempts run as, so a later daemon can stop what they leave
    /// behind after a crash; ignored for an attempt no longer running.
    public var processes: [(id: JobID, attempt: Int, process: ProcessRecord)] = []
    /// Output so far of running attempts (see `JobStore.updateOutput`); one per job.
    public var outputs: [(id: JobID, attempt: Int, output: CapturedOutput)] = []
    /// How runs ended (see `JobStore.finish`).
    public var results: [JobResult] = []

    public init() {}

    /// Whether there is nothing to write.
    public var isEmpty: Bool { starts.isEmpty && processes.isEmpty && outputs.isEmpty && results.isEmpty }
}
