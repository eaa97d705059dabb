import JobqCore

#if canImport(Glibc)
    import Glibc
#endif

/// A job's identity: the `jobs.id` column, never reused (the table is AUTOINCREMENT).
public typealias JobID = Int64

/// A job as stored: what to run, how, and what happened so far. Every time is a `Timestamp`
/// (milliseconds since the Unix epoch, the unit of the database columns).
public struct Job: Sendable, Hashable {
    public var id: JobID
    public var queue: String
    public var state: JobState
    /// Higher runs first; equal priorities run in enqueue order.
    public var priority: Int
    public var command: JobCommand
    public var workingDirectory: String
    /// Variables added to the daemon's environment for this job.
    public var environment: [String: String]
    /// Not started before this instant: the enqueue time, `--delay`/`--at`, or the next retry.
    public var runAt: Timestamp
    public var timeout: Duration?
    /// How many failed attempts are retried.
    public var maxRetries: Int
    /// The base of the exponential backoff between retries.
    public var backoff: Duration
    /// Every start counts, interrupted runs included (`JOBQ_ATTEMPT` of the last start).
    public var attempts: Int
    /// Failed attempts, the ones counted against `maxRetries`.
    public var failures: Int
    public var exitCode: Int?
    /// The signal that ended the last attempt's main process, if one did.
    public var signal: Int?
    /// Why the job failed or was cancelled (or why its last attempt failed, while it waits to retry).
    public var error: String?
    /// The last bytes (at most `JobStore.outputTailLimit`) the job wrote to stdout.
    public var stdout: [UInt8]
    /// The last bytes (at most `JobStore.outputTailLimit`) the job wrote to stderr.
    public var stderr: [UInt8]
    public var enqueuedAt: Timestamp
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    /// A user asked to cancel it while it was running; the daemon stops it.
    public var cancelRequested: Bool
    /// The jobs that must succeed before this one starts.
    public var dependencies: [JobID]
    /// A daemon has taken it into memory to start it (still `pending` until it starts).
    public var claimed: Bool
    /// How many of `dependencies` have not succeeded yet (meaningful while `pending`).
    public var unmetDependencies: Int
    /// The process of the current run, while `running`.
    public var process: ProcessRecord?
}

/// A queue's own settings; `nil` means "follow the daemon's default".
public struct QueueSettings: Sendable, Hashable {
    public var name: String
    /// How many of its jobs run at once.
    public var concurrency: Int?
    /// How many of its jobs the daemon holds in memory (the bounded in-memory queue).
    public var capacity: Int?
    /// How long an idle consumer waits for work before it ends.
    public var idleTimeout: Duration?
    /// A paused queue starts no new jobs.
    public var paused: Bool

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
    public var name: String
    public var pending: Int
    public var running: Int
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int
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
    public var id: JobID
    public var queue: String
    public var command: JobCommand
    public var workingDirectory: String
    public var environment: [String: String]
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
    /// Stopped because it ran longer than its timeout: a failed attempt, retried while retries are left.
    case timedOut(after: Duration)
    /// Stopped because a user cancelled it; cascades to its dependents.
    case cancelled(reason: String?)
    /// Cut short because the daemon stopped: back to `pending`, without using up a retry.
    case interrupted
}

/// The result of one run (one attempt) of a job.
public struct JobResult: Sendable, Hashable {
    public var id: JobID
    /// The fencing token from `ClaimedJob.attempt`; a result for another attempt is ignored.
    public var attempt: Int
    public var outcome: JobOutcome
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var finishedAt: Timestamp

    public init(
        id: JobID, attempt: Int, outcome: JobOutcome, stdout: [UInt8] = [], stderr: [UInt8] = [],
        finishedAt: Timestamp
    ) {
        self.id = id
        self.attempt = attempt
        self.outcome = outcome
        self.stdout = stdout
        self.stderr = stderr
        self.finishedAt = finishedAt
    }
}

/// Identifies a job's process for orphan cleanup after a crash: the pid alone could have been
/// reused, so its start time (field 22 of `/proc/<pid>/stat`, in clock ticks) is kept too.
public struct ProcessRecord: Sendable, Hashable {
    public var pid: Int32
    public var processGroup: Int32
    public var startTime: UInt64

    public init(pid: Int32, processGroup: Int32, startTime: UInt64) {
        self.pid = pid
        self.processGroup = processGroup
        self.startTime = startTime
    }
}

/// A job a dead daemon left `running`, with the process it had started (to stop before re-running it).
public struct InterruptedRun: Sendable, Hashable {
    public var id: JobID
    public var attempt: Int
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
