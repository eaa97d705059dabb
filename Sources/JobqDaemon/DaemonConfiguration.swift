import JobqCore
import JobqStore

/// Everything `jobqd` is told on its command line, with SPEC §2's defaults.
public struct DaemonConfiguration: Sendable {
    /// The database file (see `DatabaseLocation`).
    public var databasePath: String
    /// Consumers per queue for queues without a `concurrency` of their own.
    public var defaultConcurrency: Int
    /// In-memory buffer per queue for queues without a `capacity` of their own.
    public var defaultCapacity: Int
    /// How long an idle consumer waits for work before it ends, for queues without a setting.
    public var defaultIdleTimeout: Duration
    /// On SIGTERM, how long running jobs may go on before they are stopped and put back.
    public var drainTimeout: Duration
    /// Between SIGTERM and SIGKILL when a job's process group is stopped.
    public var killGrace: Duration
    /// How the daemon's own state transitions are committed (see `Durability`).
    public var durability: Durability
    /// The safety-net poll of the database for changes made without ringing the doorbell.
    public var pollInterval: Duration
    /// How much of each of stdout and stderr is kept per job.
    public var outputTailLimit: Int
    /// How often the output tails of running jobs are written for `jobq logs --follow`; also
    /// the longest a started job's process record waits to be written.
    public var outputFlushInterval: Duration

    public init(
        databasePath: String,
        defaultConcurrency: Int = DaemonConfiguration.processorCount,
        defaultCapacity: Int = 64,
        defaultIdleTimeout: Duration = .seconds(10),
        drainTimeout: Duration = .seconds(30),
        killGrace: Duration = .seconds(5),
        durability: Durability = .normal,
        pollInterval: Duration = .seconds(1),
        outputTailLimit: Int = 64 * 1024,
        outputFlushInterval: Duration = .milliseconds(500)
    ) {
        self.databasePath = databasePath
        self.defaultConcurrency = defaultConcurrency
        self.defaultCapacity = defaultCapacity
        self.defaultIdleTimeout = defaultIdleTimeout
        self.drainTimeout = drainTimeout
        self.killGrace = killGrace
        self.durability = durability
        self.pollInterval = pollInterval
        self.outputTailLimit = outputTailLimit
        self.outputFlushInterval = outputFlushInterval
    }

    /// The number of CPUs this process may run on: the default concurrency.
    public static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

#if canImport(Glibc)
    import Glibc
#endif
