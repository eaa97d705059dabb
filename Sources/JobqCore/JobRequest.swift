/// Everything a client says about a job when it enqueues it (`jobq add`, a `--batch`
/// line, or a Swift program embedding jobq).
public struct JobRequest: Sendable, Hashable {
    /// The queue used when none is named.
    public static let defaultQueue = "default"

    /// The queue the job goes to; created on first use.
    public var queue: String
    /// What to run.
    public var command: JobCommand
    /// The directory the job runs in (absolute).
    public var workingDirectory: String
    /// Variables added to the daemon's environment for this job (`--env K=V`).
    public var environment: [String: String]
    /// Higher runs first; equal priorities run in enqueue order.
    public var priority: Int
    /// The job is not started before this instant (`--delay`, `--at`); `nil` means now.
    public var notBefore: Timestamp?
    /// A run longer than this is stopped and counts as a failed attempt.
    public var timeout: Duration?
    /// How many failed attempts are retried.
    public var retries: Int
    /// The base of the exponential backoff between retries.
    public var backoff: Duration
    /// Jobs that must all succeed before this one starts (`--after`).
    public var dependencies: [Int64]

    public init(
        queue: String = JobRequest.defaultQueue,
        command: JobCommand,
        workingDirectory: String,
        environment: [String: String] = [:],
        priority: Int = 0,
        notBefore: Timestamp? = nil,
        timeout: Duration? = nil,
        retries: Int = 0,
        backoff: Duration = RetryBackoff.defaultBase,
        dependencies: [Int64] = []
    ) {
        self.queue = queue
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.priority = priority
        self.notBefore = notBefore
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.dependencies = dependencies
    }
}
