import CSQLite
import JobqCore
import JobqSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// The durable job store: one SQLite connection, owned by an actor that runs on a thread of its
/// own, so every SQLite call (and every fsync) blocks that thread and never the cooperative pool.
/// The CLI and the daemon share it; `docs/schema.md` describes the tables it keeps.
///
/// Every write is one transaction (`BEGIN IMMEDIATE`), all or nothing, so many jobs per call
/// means many jobs per commit (the daemon's group commit). Writes a client makes (enqueue,
/// cancel, retry, pause, queue settings) ring the daemon's doorbell after they commit.
///
/// The daemon's protocol: `claim` marks due jobs as taken (they stay `pending`), `markRunning`
/// starts them with a fencing token (the attempt number), `finish` records results only for the
/// attempt still running, and after a crash `interruptedRuns`/`requeueInterrupted` recover.
public actor JobStore {
    /// The most bytes of stdout, and of stderr, kept per job (the tail).
    public static let outputTailLimit = 64 * 1024

    /// The database file.
    public nonisolated let path: String
    private let executor: DedicatedThreadExecutor
    private let connection: Connection
    private let ringsDoorbell: Bool
    private var random = SystemRandomNumberGenerator()

    /// Runs every method on the store's own thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// Opens the database at `path`, creating it (and missing parent directories, mode 0700) if
    /// needed, upgrading its schema in place, and setting WAL mode, `synchronous` and foreign keys.
    /// - Parameters:
    ///   - durability: `.full` for clients (a returned write survives power loss), `.normal` for the
    ///     daemon's group-committed transitions.
    ///   - fileMode: the mode of the database file, and so of its `-wal` and `-shm`, whatever the umask;
    ///     by default 0600, or 0660 in a setgid directory (a state directory shared with a group).
    ///   - createIfMissing: `false` makes a missing file an error (`StoreError.cannotOpen`) instead.
    ///   - busyTimeout: how long to wait for another process's lock before `StoreError.busy`.
    ///   - ringsDoorbell: whether client writes wake the daemon (off for the daemon's own store).
    ///   - faults: the failure seam for tests: consulted before each SQLite step and commit.
    /// - Throws: `StoreError` naming the file: not a database, newer schema, cannot open, busy, ….
    public init(
        path: String,
        durability: Durability = .full,
        fileMode: mode_t? = nil,
        createIfMissing: Bool = true,
        busyTimeout: Duration = .seconds(5),
        ringsDoorbell: Bool = true,
        faults: SQLiteFaults? = nil
    ) async throws(StoreError) {
        let executor = DedicatedThreadExecutor(name: "jobq-store")
        do {
            connection = try await executor.run {
                try Self.openConnection(
                    path: path, durability: durability, fileMode: fileMode, createIfMissing: createIfMissing,
                    busyTimeout: busyTimeout, faults: faults)
            }
        } catch {
            executor.shutdown()
            throw StoreError.from(error)
        }
        self.executor = executor
        self.path = path
        self.ringsDoorbell = ringsDoorbell
    }

    /// Refuses an existing database at `path` that users other than its owner and group may read
    /// or write, or whose `-wal` or `-shm` file they may: what the daemon creates beside it would
    /// be open to them too (SQLite copies the database's mode). A missing file passes: the store
    /// creates it private.
    public static func refuseIfOpenToOthers(path: String) throws(StoreError) {
        try DatabaseFile.refuseIfOpenToOthers(path: path)
    }

    /// Opens the database like `init(path:…)`, but for synchronous use from the calling thread
    /// only: the store starts no thread of its own, so a short-lived single-threaded program
    /// (the `jobq` command line) pays no thread start and no hand-off per call. Call its methods
    /// through `assumeIsolated` on this thread; awaiting them from a task traps.
    public init(
        confinedToCallingThread path: String,
        durability: Durability = .full,
        createIfMissing: Bool = true,
        busyTimeout: Duration = .seconds(5)
    ) throws(StoreError) {
        do {
            connection = try Self.openConnection(
                path: path, durability: durability, fileMode: nil, createIfMissing: createIfMissing,
                busyTimeout: busyTimeout, faults: nil)
        } catch {
            throw StoreError.from(error)
        }
        self.executor = .callingThread()
        self.path = path
        self.ringsDoorbell = true
    }

    private static func openConnection(
        path: String, durability: Durability, fileMode: mode_t?, createIfMissing: Bool,
        busyTimeout: Duration, faults: SQLiteFaults?
    ) throws -> Connection {
        try DatabaseFile.prepare(
            path: path, mode: fileMode ?? DatabaseFile.defaultMode(databasePath: path),
            createIfMissing: createIfMissing)
        let connection = try Connection(
            path: DatabaseFile.resolvingDirectoryLinks(path), busyTimeout: busyTimeout, faults: faults)
        try configure(connection, durability: durability)
        return connection
    }

    deinit {
        executor.shutdown()
    }

    /// Checks the schema version before anything writes to the file, then sets the pragmas and migrates.
    private static func configure(_ connection: Connection, durability: Durability) throws {
        // One statement, so one snapshot: another process may be creating the schema right now.
        let opening = try connection.prepare(
            "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema)")
        try opening.step()
        let found = opening.int(at: 0)
        let tables = opening.int(at: 1)
        opening.reset()
        guard found <= Schema.currentVersion else {
            throw StoreError.newerSchema(path: connection.path, found: found, supported: Schema.currentVersion)
        }
        // Version 0 with tables is another program's database (a mistyped --db): not ours to convert.
        if found == 0 && tables > 0 { throw StoreError.foreignDatabase(path: connection.path) }
        let mode = try connection.text("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw StoreError.cannotOpen(
                path: connection.path, reason: "cannot switch to WAL mode (got \(mode ?? "nothing"))")
        }
        try connection.execute(durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        try connection.execute("PRAGMA foreign_keys = ON")
        // Keeps a WAL that grew during a burst from staying large on disk after the checkpoint.
        try connection.execute("PRAGMA journal_size_limit = 67108864")
        // A larger page cache (allocated only as pages are used) keeps the indexes of a big
        // backlog in memory; the default 2 MiB makes every transition re-read index pages.
        try connection.execute("PRAGMA cache_size = -65536")
        try migrate(connection, from: found)
    }

    /// Applies the migrations a file at schema version `found` lacks, all in one transaction
    /// (another process may be migrating at the same time, so the version is read again under
    /// the write lock).
    static func migrate(_ connection: Connection, from found: Int) throws {
        guard found < Schema.currentVersion else { return }
        try connection.writeTransaction {
            let version = Int(try connection.scalar("PRAGMA user_version") ?? 0)
            guard version <= Schema.currentVersion else {
                throw StoreError.newerSchema(path: connection.path, found: version, supported: Schema.currentVersion)
            }
            for migration in Schema.migrations where migration.version > version {
                try connection.execute(migration.sql)
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    // MARK: - Clients

    /// Enqueues `requests` atomically: all of them or, on any error, none. Queues are created on
    /// first use. A job whose dependency already failed or was cancelled is created `cancelled`,
    /// with an error naming that dependency.
    /// - Throws: `StoreError.dependencyNotFound` for an unknown dependency, `.invalidRequest` for a
    ///   malformed request (the message gives its position in the batch).
    public func enqueue(_ requests: [JobRequest], now: Timestamp = .now()) throws(StoreError) -> [Job] {
        for (index, request) in requests.enumerated() {
            if let problem = Self.problem(with: request) {
                throw .invalidRequest(requests.count == 1 ? problem : "job \(index + 1) of the batch: \(problem)")
            }
        }
        let jobs = try write {
            var knownQueues = Set<String>()
            var jobs: [Job] = []
            jobs.reserveCapacity(requests.count)
            for request in requests where knownQueues.insert(request.queue).inserted {
                try ensureQueue(request.queue, now: now)
            }
            let statement = try connection.prepare(Self.insertSQL)
            for request in requests {
                jobs.append(try insert(request, with: statement, now: now))
            }
            return jobs
        }
        ring()
        return jobs
    }

    /// The job with this id, or `nil`.
    public func job(_ id: JobID) throws(StoreError) -> Job? {
        try read {
            let statement = try connection.prepare("SELECT \(Self.jobColumns) FROM jobs WHERE id = ?1")
            try statement.bind(id, at: 1)
            guard try statement.step() else { return nil }
            var job = try decodeJob(statement)
            statement.reset()
            job.dependencies = try dependencies(of: id)
            return job
        }
    }

    /// Jobs, newest first, optionally of one queue and/or in some states (none: in any), at most
    /// `limit` of them.
    public func jobs(queue: String? = nil, states: Set<JobState> = [], limit: Int? = nil) throws(StoreError) -> [Job] {
        var conditions: [String] = []
        if queue != nil { conditions.append("queue = ?1") }
        if !states.isEmpty { conditions.append("state IN (SELECT value FROM json_each(?2))") }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return try read {
            let statement = try connection.prepare(
                "SELECT \(Self.jobColumns) FROM jobs\(filter) ORDER BY id DESC LIMIT ?3")
            if let queue { try statement.bind(queue, at: 1) }
            if !states.isEmpty { try statement.bind(JSONText.encode(states.map(\.rawValue).sorted()), at: 2) }
            try statement.bind(Int64(limit ?? -1), at: 3)
            var jobs: [Job] = []
            while try statement.step() {
                jobs.append(try decodeJob(statement))
            }
            statement.reset()
            for index in jobs.indices {
                jobs[index].dependencies = try dependencies(of: jobs[index].id)
            }
            return jobs
        }
    }

    /// Per-state counts and settings of every known queue (or only `queue`), sorted by name.
    public func queueStats(queue: String? = nil) throws(StoreError) -> [QueueStats] {
        try read {
            let statement = try connection.prepare(
                """
                SELECT q.name, q.paused, q.concurrency, q.capacity,
                       s.pending, s.running, s.succeeded, s.failed, s.cancelled
                FROM queues AS q JOIN queue_stats AS s ON s.queue = q.name
                \(queue == nil ? "" : "WHERE q.name = ?1")
                ORDER BY q.name
                """)
            if let queue { try statement.bind(queue, at: 1) }
            var stats: [QueueStats] = []
            while try statement.step() {
                stats.append(
                    QueueStats(
                        name: statement.string(at: 0) ?? "", pending: statement.int(at: 4),
                        running: statement.int(at: 5), succeeded: statement.int(at: 6), failed: statement.int(at: 7),
                        cancelled: statement.int(at: 8), paused: statement.int(at: 1) != 0,
                        concurrency: statement.optionalInt(at: 2), capacity: statement.optionalInt(at: 3)))
            }
            return stats
        }
    }

    /// Cancels jobs: a pending one becomes `cancelled` at once (and so do its pending dependents,
    /// transitively); a running one gets `cancel_requested` and stays `running` until the daemon
    /// has stopped it; a finished one is left alone. All or nothing.
    /// - Returns: what was done to each job, decided in the same transaction as the change.
    /// - Throws: `StoreError.jobNotFound` for an unknown id (and nothing is changed).
    public func cancel(_ ids: [JobID], now: Timestamp = .now()) throws(StoreError) -> [JobID: CancelOutcome] {
        let result = try write {
            var result: [JobID: CancelOutcome] = [:]
            for id in ids {
                guard let state = try state(of: id) else { throw StoreError.jobNotFound(id) }
                switch state {
                case .pending:
                    try cancelPending(id, reason: "cancelled by request", now: now)
                    result[id] = .cancelled
                case .running:
                    let statement = try connection.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1")
                    try statement.bind(id, at: 1)
                    try statement.run()
                    result[id] = .stopping
                case .succeeded, .failed, .cancelled:
                    result[id] = .alreadyEnded(state)
                }
            }
            return result
        }
        ring()
        return result
    }

    /// Cancels every pending job of `queue` and asks for every running one to be stopped.
    /// - Returns: how many jobs were cancelled or asked to stop.
    public func cancel(queue: String, now: Timestamp = .now()) throws(StoreError) -> Int {
        let count = try write {
            let pending = try connection.prepare(
                """
                UPDATE jobs SET state = 'cancelled', claimed = 0, error = 'cancelled by request', finished_at = ?2
                WHERE queue = ?1 AND state = 'pending' RETURNING id
                """)
            try pending.bind(queue, at: 1)
            try pending.bind(now.milliseconds, at: 2)
            var cancelled: [JobID] = []
            while try pending.step() { cancelled.append(pending.int64(at: 0)) }
            pending.reset()
            for id in cancelled {
                try cascadeCancel(from: id, because: "was cancelled", now: now)
            }
            let running = try connection.prepare(
                "UPDATE jobs SET cancel_requested = 1 WHERE queue = ?1 AND state = 'running' AND cancel_requested = 0")
            try running.bind(queue, at: 1)
            try running.run()
            return cancelled.count + connection.changes
        }
        ring()
        return count
    }

    /// The jobs that were cancelled because one of `ids` failed or was cancelled, and so on down
    /// (the cascade's cancellations, not a user's): what a retry of `ids` must take along to
    /// resume a whole pipeline. In id order, without `ids` themselves.
    public func cascadeCancelledDependents(of ids: [JobID]) throws(StoreError) -> [JobID] {
        try read {
            let statement = try connection.prepare(
                """
                WITH RECURSIVE down (id) AS (
                    SELECT value FROM json_each(?1)
                    UNION
                    SELECT d.job_id FROM job_dependencies AS d
                    JOIN down ON d.depends_on = down.id
                    JOIN jobs AS j ON j.id = d.job_id
                    WHERE j.state = 'cancelled' AND j.cancel_requested = 0 AND j.error LIKE 'dependency %')
                SELECT id FROM down WHERE id NOT IN (SELECT value FROM json_each(?1)) ORDER BY id
                """)
            try statement.bind(Self.jsonList(ids), at: 1)
            var dependents: [JobID] = []
            while try statement.step() { dependents.append(statement.int64(at: 0)) }
            return dependents
        }
    }

    /// Puts failed and cancelled jobs back to `pending`, due now, with a fresh retry budget
    /// (`failures` = 0; `attempts` keeps counting starts). Jobs in other states are left alone.
    /// All or nothing.
    /// - Returns: each job's state after the call.
    /// - Throws: `StoreError.jobNotFound` for an unknown id; `.retryBlocked` for a job whose
    ///   dependency failed or was cancelled and is not retried in the same call (it could only be
    ///   cancelled again). Nothing is changed then.
    public func retry(_ ids: [JobID], now: Timestamp = .now()) throws(StoreError) -> [JobID: JobState] {
        let result = try write {
            var result: [JobID: JobState] = [:]
            var retried: [JobID] = []
            for id in ids {
                guard let state = try state(of: id) else { throw StoreError.jobNotFound(id) }
                if state == .failed || state == .cancelled { retried.append(id) } else { result[id] = state }
            }
            let retrying = Set(retried)
            for id in retried {
                for dependency in try dependencyStates(of: id)
                where (dependency.state == .failed || dependency.state == .cancelled)
                    && !retrying.contains(dependency.id)
                {
                    throw StoreError.retryBlocked(id, dependency: dependency.id, dependencyState: dependency.state)
                }
            }
            for id in retried {
                let statement = try connection.prepare(
                    """
                    UPDATE jobs SET state = 'pending', run_at = ?2, delayed = 0, failures = 0, exit_code = NULL, signal = NULL,
                        error = NULL, stdout_tail = NULL, stderr_tail = NULL, stdout_bytes = 0, stderr_bytes = 0,
                        started_at = NULL, finished_at = NULL,
                        cancel_requested = 0, claimed = 0, pid = NULL, pgid = NULL, pid_start_time = NULL
                    WHERE id = ?1
                    """)
                try statement.bind(id, at: 1)
                try statement.bind(now.milliseconds, at: 2)
                try statement.run()
            }
            // Every dependency is now succeeded (met) or pending or running (retried with it, or
            // unfinished all along).
            for id in retried {
                let unmet = try dependencyStates(of: id).count { $0.state != .succeeded }
                let statement = try connection.prepare("UPDATE jobs SET unmet_deps = ?2 WHERE id = ?1")
                try statement.bind(id, at: 1)
                try statement.bind(unmet, at: 2)
                try statement.run()
                result[id] = .pending
            }
            return result
        }
        ring()
        return result
    }

    /// Pauses (no new jobs start) or resumes a queue, creating it if needed.
    public func setPaused(_ queue: String, _ paused: Bool, now: Timestamp = .now()) throws(StoreError) {
        if let problem = Self.problem(withQueueName: queue) { throw .invalidRequest(problem) }
        try write {
            try ensureQueue(queue, now: now)
            let statement = try connection.prepare("UPDATE queues SET paused = ?2 WHERE name = ?1")
            try statement.bind(queue, at: 1)
            try statement.bind(paused ? 1 : 0, at: 2)
            try statement.run()
        }
        ring()
    }

    /// Changes a queue's settings, creating the queue if needed. For each setting: `nil` (the
    /// default) leaves it as it is, `.some(nil)` resets it to follow the daemon's default, and
    /// `.some(value)` sets it (values must be positive; an idle timeout may be zero).
    public func updateQueue(
        _ queue: String,
        concurrency: Int?? = nil,
        capacity: Int?? = nil,
        idleTimeout: Duration?? = nil,
        now: Timestamp = .now()
    ) throws(StoreError) {
        if let problem = Self.problem(withQueueName: queue) { throw .invalidRequest(problem) }
        if case .some(.some(let value)) = concurrency, value < 1 {
            throw .invalidRequest("concurrency must be at least 1, not \(value)")
        }
        if case .some(.some(let value)) = capacity, value < 1 {
            throw .invalidRequest("capacity must be at least 1, not \(value)")
        }
        if case .some(.some(let value)) = idleTimeout, value < .zero {
            throw .invalidRequest("the idle timeout cannot be negative")
        }
        try write {
            try ensureQueue(queue, now: now)
            let statement = try connection.prepare(
                """
                UPDATE queues SET
                    concurrency = CASE WHEN ?2 THEN ?3 ELSE concurrency END,
                    capacity = CASE WHEN ?4 THEN ?5 ELSE capacity END,
                    idle_timeout_ms = CASE WHEN ?6 THEN ?7 ELSE idle_timeout_ms END
                WHERE name = ?1
                """)
            try statement.bind(queue, at: 1)
            try statement.bind(concurrency == nil ? 0 : 1, at: 2)
            try statement.bind(concurrency ?? nil, at: 3)
            try statement.bind(capacity == nil ? 0 : 1, at: 4)
            try statement.bind(capacity ?? nil, at: 5)
            try statement.bind(idleTimeout == nil ? 0 : 1, at: 6)
            try statement.bind((idleTimeout ?? nil)?.wholeMilliseconds, at: 7)
            try statement.run()
        }
        ring()
    }

    /// Deletes finished jobs in `states` that finished at or before `olderThan` (or before `now`
    /// when `nil`), except those a job that stays depends on; their dependency links go with them.
    /// - Throws: `StoreError.invalidRequest` if `states` names `pending` or `running`.
    /// - Returns: how many jobs were deleted.
    public func purge(olderThan: Timestamp?, states: Set<JobState>, now: Timestamp = .now()) throws(StoreError) -> Int {
        if let unfinished = states.first(where: { !$0.isTerminal }) {
            throw .invalidRequest("only finished jobs can be purged, not \(unfinished.rawValue) ones")
        }
        let cutoff = min(olderThan ?? now, now)
        return try write {
            // A job that another job, not purged with it, depends on stays: deleting it would drop
            // the dependency, and a retry of that dependent would then run without it.
            let statement = try connection.prepare(
                """
                DELETE FROM jobs
                WHERE state IN (SELECT value FROM json_each(?1)) AND finished_at <= ?2
                  AND NOT EXISTS (
                      SELECT 1 FROM job_dependencies AS d JOIN jobs AS dependent ON dependent.id = d.job_id
                      WHERE d.depends_on = jobs.id
                        AND NOT (dependent.state IN (SELECT value FROM json_each(?1)) AND dependent.finished_at <= ?2))
                """)
            try statement.bind(JSONText.encode(states.map(\.rawValue)), at: 1)
            try statement.bind(cutoff.milliseconds, at: 2)
            try statement.run()
            return connection.changes
        }
    }

    /// Pending plus running jobs, of one queue or of all: the count asyncio's `join` waits to reach 0.
    public func unfinishedCount(queue: String? = nil) throws(StoreError) -> Int {
        try read {
            let statement = try connection.prepare(
                """
                SELECT count(*) FROM jobs
                WHERE \(queue == nil ? "queue IN (SELECT name FROM queues)" : "queue = ?1")
                  AND state IN ('pending', 'running')
                """)
            if let queue { try statement.bind(queue, at: 1) }
            try statement.step()
            return statement.int(at: 0)
        }
    }

    /// The states of the given jobs; ids that do not exist are absent from the result.
    public func states(of ids: [JobID]) throws(StoreError) -> [JobID: JobState] {
        try read {
            let statement = try connection.prepare(
                "SELECT id, state FROM jobs WHERE id IN (SELECT value FROM json_each(?1))")
            try statement.bind(Self.jsonList(ids), at: 1)
            var states: [JobID: JobState] = [:]
            while try statement.step() {
                states[statement.int64(at: 0)] = try decodeState(statement, at: 1, id: statement.int64(at: 0))
            }
            return states
        }
    }

    /// `PRAGMA data_version`: changes whenever *another* connection commits to the database,
    /// a cheap way for a poller (join, wait, logs --follow) to know when to look again.
    public func dataVersion() throws(StoreError) -> Int64 {
        do {
            return try connection.scalar("PRAGMA data_version") ?? 0
        } catch {
            throw StoreError(error)
        }
    }

    // MARK: - The daemon

    /// Every known queue's settings, sorted by name.
    public func queueSettings() throws(StoreError) -> [QueueSettings] {
        try read {
            let statement = try connection.prepare(
                "SELECT name, concurrency, capacity, idle_timeout_ms, paused FROM queues ORDER BY name")
            var settings: [QueueSettings] = []
            while try statement.step() { settings.append(Self.decodeQueueSettings(statement)) }
            return settings
        }
    }

    /// The queues a daemon has to look after, with their settings: those with work (a job that is
    /// due or delayed, as `nextDueTime` counts them), those paused, and those in `names` (the ones
    /// it has workers for, so that new settings reach them). One statement, whose cost grows with
    /// these queues rather than with every queue name the database has seen: it walks the ready
    /// and delayed indexes one queue at a time (a loose index scan) and finds the paused queues
    /// by their own index.
    public func queuesToServe(including names: [String]) throws(StoreError) -> [(
        settings: QueueSettings, hasWork: Bool
    )] {
        try read {
            let statement = try connection.prepare(Self.queuesToServeSQL)
            try statement.bind(JSONText.encode(names), at: 1)
            var queues: [(QueueSettings, Bool)] = []
            while try statement.step() {
                queues.append((Self.decodeQueueSettings(statement), statement.int(at: 5) != 0))
            }
            return queues
        }
    }

    /// Each recursive step finds the next queue name after the last one (starting from '', below
    /// every name) that has a ready job or a delayed one, with one seek in `jobs_ready` and one
    /// in `jobs_delayed`; ?1 is a JSON array of queue names to include anyway.
    static let queuesToServeSQL = """
        WITH RECURSIVE busy (queue) AS (
            SELECT ''
            UNION ALL
            SELECT (SELECT min(queue) FROM (
                SELECT (SELECT queue FROM jobs INDEXED BY jobs_ready
                        WHERE queue > busy.queue AND state = 'pending' AND claimed = 0 AND unmet_deps = 0
                          AND delayed = 0
                        ORDER BY queue LIMIT 1) AS queue
                UNION ALL
                SELECT (SELECT queue FROM jobs INDEXED BY jobs_delayed
                        WHERE queue > busy.queue AND state = 'pending' AND delayed = 1 AND claimed = 0
                          AND unmet_deps = 0
                        ORDER BY queue LIMIT 1)))
            FROM busy WHERE busy.queue IS NOT NULL),
        work (queue) AS (SELECT queue FROM busy WHERE queue IS NOT NULL AND queue <> '')
        SELECT name, concurrency, capacity, idle_timeout_ms, paused, name IN work FROM queues
        WHERE name IN (SELECT queue FROM work UNION SELECT value FROM json_each(?1))
        UNION
        SELECT name, concurrency, capacity, idle_timeout_ms, paused, name IN work FROM queues INDEXED BY queues_paused
        WHERE paused = 1
        ORDER BY name
        """

    /// Jobs left `running` by a daemon that is gone, with the processes they had: stop those
    /// before calling `requeueInterrupted` (which forgets them).
    public func interruptedRuns() throws(StoreError) -> [InterruptedRun] {
        try read {
            let statement = try connection.prepare(
                """
                SELECT id, attempts, pid, pgid, pid_start_time FROM jobs
                WHERE queue IN (SELECT name FROM queues) AND state = 'running' ORDER BY id
                """)
            var runs: [InterruptedRun] = []
            while try statement.step() {
                runs.append(
                    InterruptedRun(
                        id: statement.int64(at: 0), attempt: statement.int(at: 1),
                        process: Self.processRecord(statement, at: 2)))
            }
            return runs
        }
    }

    /// Recovery at daemon start: every `running` job goes back to `pending` (its attempt stays
    /// counted, no retry is used up) — or to `cancelled` if a user had asked to cancel it — and
    /// every claim is cleared.
    /// - Returns: how many jobs went back to `pending`.
    public func requeueInterrupted(now: Timestamp = .now()) throws(StoreError) -> Int {
        try write {
            let cancel = try connection.prepare(
                """
                UPDATE jobs SET state = 'cancelled', error = 'cancelled by request', finished_at = ?1,
                    claimed = 0, pid = NULL, pgid = NULL, pid_start_time = NULL
                WHERE queue IN (SELECT name FROM queues) AND state = 'running' AND cancel_requested = 1
                RETURNING id
                """)
            try cancel.bind(now.milliseconds, at: 1)
            var cancelled: [JobID] = []
            while try cancel.step() { cancelled.append(cancel.int64(at: 0)) }
            cancel.reset()
            for id in cancelled {
                try cascadeCancel(from: id, because: "was cancelled", now: now)
            }
            try connection.prepare(
                """
                UPDATE jobs SET state = 'pending', claimed = 0, delayed = 0, pid = NULL, pgid = NULL, pid_start_time = NULL
                WHERE queue IN (SELECT name FROM queues) AND state = 'running'
                """
            ).run()
            let requeued = connection.changes
            try connection.prepare(
                "UPDATE jobs SET claimed = 0 WHERE queue IN (SELECT name FROM queues) AND state = 'pending' AND claimed = 1"
            ).run()
            return requeued
        }
    }

    /// Claims up to `limit` jobs of `queue` to start, in priority-then-FIFO order: pending, due
    /// (`run_at <= now`), not claimed, with every dependency succeeded, in one `UPDATE … RETURNING`
    /// (after a small `UPDATE` that moves the delayed jobs due by `now` into the ready index).
    /// They stay `pending` but cannot be claimed again until `release` or `requeueInterrupted`.
    /// A paused queue yields nothing. A job whose stored command cannot be decoded is marked
    /// `failed` (with the reason) instead of being returned.
    public func claim(queue: String, limit: Int, now: Timestamp = .now()) throws(StoreError) -> [ClaimedJob] {
        guard limit > 0 else { return [] }
        return try write {
            let promote = try connection.prepare(Self.promoteSQL)
            try promote.bind(queue, at: 1)
            try promote.bind(now.milliseconds, at: 2)
            try promote.run()
            let statement = try connection.prepare(Self.claimSQL)
            try statement.bind(queue, at: 1)
            try statement.bind(now.milliseconds, at: 2)
            try statement.bind(limit, at: 3)
            var claimed: [ClaimedJob] = []
            var undecodable: [(JobID, String)] = []
            while try statement.step() {
                let id = statement.int64(at: 0)
                do {
                    let job = ClaimedJob(
                        id: id, queue: queue, priority: statement.int(at: 1),
                        command: try decodeCommand(statement, argv: 2, shell: 3, id: id),
                        workingDirectory: statement.string(at: 4) ?? "",
                        environment: try decodeEnvironment(statement, at: 5, id: id),
                        timeout: statement.optionalInt64(at: 6).map { .milliseconds($0) },
                        attempt: statement.int(at: 7) + 1)
                    claimed.append(job)
                } catch {
                    undecodable.append((id, "\(error)"))
                }
            }
            statement.reset()
            for (id, reason) in undecodable {
                let fail = try connection.prepare(
                    "UPDATE jobs SET state = 'failed', claimed = 0, error = ?2, finished_at = ?3 WHERE id = ?1")
                try fail.bind(id, at: 1)
                try fail.bind(reason, at: 2)
                try fail.bind(now.milliseconds, at: 3)
                try fail.run()
                try cascadeCancel(from: id, because: "failed", now: now)
            }
            // RETURNING gives rows in no particular order.
            claimed.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
            return claimed
        }
    }

    /// Moves the delayed jobs of queue ?1 that are due at ?2 into `jobs_ready` (a range of
    /// `jobs_delayed`, usually empty).
    static let promoteSQL = """
        UPDATE jobs SET delayed = 0 WHERE queue = ?1 AND state = 'pending' AND delayed = 1 AND run_at <= ?2
        """

    /// `INDEXED BY` pins the priority-ordered index, whatever statistics the planner has.
    static let claimSQL = """
        UPDATE jobs SET claimed = 1
        WHERE id IN (
            SELECT id FROM jobs INDEXED BY jobs_ready
            WHERE queue = ?1 AND state = 'pending' AND claimed = 0 AND unmet_deps = 0 AND delayed = 0
              AND run_at <= ?2
              AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?1 AND paused = 1)
            ORDER BY priority DESC, id
            LIMIT ?3)
        RETURNING id, priority, argv, shell, cwd, env, timeout_ms, attempts
        """

    /// Gives claimed jobs that were not started back, so they can be claimed again.
    public func release(_ ids: [JobID]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try write {
            let statement = try connection.prepare(
                "UPDATE jobs SET claimed = 0 WHERE id IN (SELECT value FROM json_each(?1)) AND state = 'pending'")
            try statement.bind(Self.jsonList(ids), at: 1)
            try statement.run()
        }
    }

    /// Records that claimed jobs have started (one transaction for all): `running`, with
    /// `attempts` = the attempt, the start time and the process.
    /// - Returns: the jobs that were started. A job missing from it was cancelled (or recovered)
    ///   since it was claimed: the daemon must stop the process it started for it.
    public func markRunning(
        _ starts: [(id: JobID, attempt: Int, startedAt: Timestamp, process: ProcessRecord?)]
    ) throws(StoreError) -> Set<JobID> {
        guard !starts.isEmpty else { return [] }
        return try write { try startRows(starts) }
    }

    /// Records the results of runs (one transaction for all). Fenced: a result applies only while
    /// its job is `running` that same attempt; any other (a late write from an older attempt, or a
    /// job recovered meanwhile) is ignored and absent from the returned states.
    ///
    /// A failure or timeout with retries left goes back to `pending`, due after the backoff;
    /// otherwise it is `failed`. A failure, timeout or interruption of a job a user asked to
    /// cancel makes it `cancelled`. `failed` and `cancelled` cascade to pending dependents; a
    /// success makes its dependents one dependency closer to runnable. Output tails keep the
    /// last `outputTailLimit` bytes.
    public func finish(_ results: [JobResult]) throws(StoreError) -> [JobID: JobState] {
        guard !results.isEmpty else { return [:] }
        return try write { try resultRows(results).states }
    }

    static let succeedSQL = """
        UPDATE jobs SET state = 'succeeded', exit_code = 0, signal = NULL, error = NULL,
            stdout_tail = ?3, stderr_tail = ?4, stdout_bytes = ?6, stderr_bytes = ?7, finished_at = ?5,
            claimed = 0, pid = NULL, pgid = NULL, pid_start_time = NULL
        WHERE id = ?1 AND state = 'running' AND attempts = ?2
        """

    /// Each pending dependent of the jobs in ?1 (a JSON array of ids) is that many dependencies
    /// closer to runnable.
    static let releaseDependentsSQL = """
        WITH done (id) AS (SELECT value FROM json_each(?1))
        UPDATE jobs SET unmet_deps = max(0, unmet_deps - (
            SELECT count(*) FROM job_dependencies AS d WHERE d.job_id = jobs.id AND d.depends_on IN done))
        WHERE id IN (SELECT job_id FROM job_dependencies WHERE depends_on IN done) AND state = 'pending'
        """

    /// Everything the daemon learned about runs since its last commit, written in one
    /// transaction (the daemon's group commit): starts first, then process records and output,
    /// then results — the order in which they happen to a job. All or nothing: a failed commit
    /// leaves nothing behind, so the whole batch can simply be retried.
    /// - Returns: the jobs that were started (see `markRunning`), the new states of the
    ///   finished ones (see `finish`), and whether the results may have made other jobs
    ///   claimable — a retry back to pending, or dependents one dependency closer — so that a
    ///   daemon need look for new work only then.
    public func record(_ transitions: RunTransitions) throws(StoreError) -> (
        started: Set<JobID>, finished: [JobID: JobState], newlyClaimable: Bool
    ) {
        guard !transitions.isEmpty else { return ([], [:], false) }
        return try write {
            let started = transitions.starts.isEmpty ? [] : try startRows(transitions.starts)
            try processRows(transitions.processes)
            for output in transitions.outputs {
                try outputRow(output.id, attempt: output.attempt, output.output)
            }
            guard !transitions.results.isEmpty else { return (started, [:], false) }
            let (finished, newlyClaimable) = try resultRows(transitions.results)
            return (started, finished, newlyClaimable)
        }
    }

    /// Running jobs a user asked to cancel, with their attempt, for the daemon to stop.
    public func cancelRequests() throws(StoreError) -> [(id: JobID, attempt: Int)] {
        try read {
            let statement = try connection.prepare(
                """
                SELECT id, attempts FROM jobs
                WHERE queue IN (SELECT name FROM queues) AND state = 'running' AND cancel_requested = 1 ORDER BY id
                """)
            var requests: [(id: JobID, attempt: Int)] = []
            while try statement.step() { requests.append((statement.int64(at: 0), statement.int(at: 1))) }
            return requests
        }
    }

    /// Stores the output tails of a running attempt so far (for `jobq logs --follow`); ignored
    /// unless that attempt is still running.
    public func updateOutput(_ id: JobID, attempt: Int, _ output: CapturedOutput) throws(StoreError) {
        try write { try outputRow(id, attempt: attempt, output) }
    }

    /// When the next job of `queue` can be claimed (pending, unclaimed, every dependency
    /// succeeded): a time at or before now when one is due already, the earliest `run_at` of the
    /// delayed ones otherwise, or `nil` if there is none. How long the daemon may sleep.
    public func nextDueTime(queue: String) throws(StoreError) -> Timestamp? {
        try read {
            let statement = try connection.prepare(Self.nextDueSQL)
            try statement.bind(queue, at: 1)
            try statement.step()
            return statement.optionalInt64(at: 0).map(Timestamp.init(milliseconds:))
        }
    }

    /// The job of `queue` that `claim` would take first now (due delayed ones included: the claim
    /// makes them ready), by its priority and id, or `nil` if there is none: whether a job has
    /// come that goes before those a daemon holds in memory — a higher priority, or the same
    /// priority and enqueued earlier (a delayed job, a retry or a dependent that became ready late).
    public func firstClaimable(queue: String, now: Timestamp) throws(StoreError) -> (priority: Int, id: JobID)? {
        try read {
            let statement = try connection.prepare(Self.firstClaimableSQL)
            try statement.bind(queue, at: 1)
            try statement.bind(now.milliseconds, at: 2)
            guard try statement.step() else { return nil }
            return (statement.int(at: 0), statement.int64(at: 1))
        }
    }

    /// When the next job of `queue` that waits for its time (delayed, or backing off before a
    /// retry) comes due after `now`, or `nil` if none does: the moment a daemon holding jobs in
    /// memory must look whether one outranks them.
    public func nextDelayedDueTime(queue: String, after now: Timestamp) throws(StoreError) -> Timestamp? {
        try read {
            let statement = try connection.prepare(
                """
                SELECT min(run_at) FROM jobs INDEXED BY jobs_delayed
                WHERE queue = ?1 AND state = 'pending' AND delayed = 1 AND claimed = 0 AND unmet_deps = 0
                  AND run_at > ?2
                """)
            try statement.bind(queue, at: 1)
            try statement.bind(now.milliseconds, at: 2)
            try statement.step()
            return statement.optionalInt64(at: 0).map(Timestamp.init(milliseconds:))
        }
    }

    /// The first of `jobs_ready` in claim order, and the first of the due range of `jobs_delayed`
    /// (usually empty), then the first of the two.
    static let firstClaimableSQL = """
        SELECT priority, id FROM (
            SELECT * FROM (
                SELECT priority, id FROM jobs INDEXED BY jobs_ready
                WHERE queue = ?1 AND state = 'pending' AND claimed = 0 AND unmet_deps = 0 AND delayed = 0
                  AND run_at <= ?2
                ORDER BY priority DESC, id LIMIT 1)
            UNION ALL
            SELECT * FROM (
                SELECT priority, id FROM jobs INDEXED BY jobs_delayed
                WHERE queue = ?1 AND state = 'pending' AND delayed = 1 AND claimed = 0 AND unmet_deps = 0
                  AND run_at <= ?2
                ORDER BY priority DESC, id LIMIT 1))
        ORDER BY priority DESC, id LIMIT 1
        """

    static let nextDueSQL = """
        SELECT min(run_at) FROM (
            SELECT * FROM (
                SELECT run_at FROM jobs INDEXED BY jobs_ready
                WHERE queue = ?1 AND state = 'pending' AND claimed = 0 AND unmet_deps = 0 AND delayed = 0
                ORDER BY priority DESC, id LIMIT 1)
            UNION ALL
            SELECT * FROM (
                SELECT run_at FROM jobs INDEXED BY jobs_delayed
                WHERE queue = ?1 AND state = 'pending' AND delayed = 1 AND claimed = 0 AND unmet_deps = 0
                ORDER BY run_at LIMIT 1))
        """

    // MARK: - Internals

    static let jobColumns = """
        id, queue, state, priority, argv, shell, cwd, env, run_at, timeout_ms, max_retries, backoff_ms, attempts, \
        failures, exit_code, signal, error, stdout_tail, stderr_tail, enqueued_at, started_at, finished_at, \
        cancel_requested, claimed, unmet_deps, pid, pgid, pid_start_time, delayed, stdout_bytes, stderr_bytes
        """

    private func write<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try connection.writeTransaction(body)
        } catch {
            throw StoreError.from(error)
        }
    }

    private func read<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try connection.readTransaction(body)
        } catch {
            throw StoreError.from(error)
        }
    }

    private func ring() {
        if ringsDoorbell { Doorbell.ring(databasePath: path) }
    }

    private func ensureQueue(_ queue: String, now: Timestamp) throws {
        let statement = try connection.prepare("INSERT OR IGNORE INTO queues (name, created_at) VALUES (?1, ?2)")
        try statement.bind(queue, at: 1)
        try statement.bind(now.milliseconds, at: 2)
        try statement.run()
    }

    static let insertSQL = """
        INSERT INTO jobs (queue, state, priority, argv, shell, cwd, env, run_at, timeout_ms, max_retries,
                          backoff_ms, enqueued_at, unmet_deps, error, finished_at, delayed)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
        """

    /// Inserts one job with the prepared `insertSQL` statement.
    private func insert(_ request: JobRequest, with statement: Statement, now: Timestamp) throws -> Job {
        var dependencies: [JobID] = []
        var seen = Set<JobID>()
        for dependency in request.dependencies where seen.insert(dependency).inserted {
            dependencies.append(dependency)
        }
        var unmet = 0
        var blocker: (id: JobID, state: JobState)?
        for dependency in dependencies {
            guard let state = try state(of: dependency) else { throw StoreError.dependencyNotFound(dependency) }
            switch state {
            case .succeeded: break
            case .failed, .cancelled: blocker = blocker ?? (dependency, state)
            case .pending, .running: unmet += 1
            }
        }
        let state: JobState = blocker == nil ? .pending : .cancelled
        let error = blocker.map { Self.dependencyError($0.id, $0.state) }
        let runAt = max(request.notBefore ?? now, now)
        statement.reset()
        try statement.bind(request.queue, at: 1)
        try statement.bind(state.rawValue, at: 2)
        try statement.bind(request.priority, at: 3)
        switch request.command {
        case .argv(let argv): try statement.bind(JSONText.encode(argv), at: 4)
        case .shell(let script): try statement.bind(script, at: 5)
        }
        try statement.bind(request.workingDirectory, at: 6)
        try statement.bind(JSONText.encode(request.environment), at: 7)
        try statement.bind(runAt.milliseconds, at: 8)
        try statement.bind(request.timeout?.wholeMilliseconds, at: 9)
        try statement.bind(request.retries, at: 10)
        try statement.bind(request.backoff.wholeMilliseconds, at: 11)
        try statement.bind(now.milliseconds, at: 12)
        try statement.bind(unmet, at: 13)
        try statement.bind(error, at: 14)
        try statement.bind(blocker == nil ? nil : now.milliseconds, at: 15)
        try statement.bind(runAt > now ? 1 : 0, at: 16)
        try statement.run()
        let id = connection.lastInsertRowID
        if !dependencies.isEmpty {
            let link = try connection.prepare("INSERT INTO job_dependencies (job_id, depends_on) VALUES (?1, ?2)")
            for dependency in dependencies {
                link.reset()
                try link.bind(id, at: 1)
                try link.bind(dependency, at: 2)
                try link.run()
            }
        }
        return Job(
            id: id, queue: request.queue, state: state, priority: request.priority, command: request.command,
            workingDirectory: request.workingDirectory, environment: request.environment, runAt: runAt,
            timeout: request.timeout.map { .milliseconds($0.wholeMilliseconds) }, maxRetries: request.retries,
            backoff: .milliseconds(request.backoff.wholeMilliseconds), attempts: 0, failures: 0, exitCode: nil,
            signal: nil, error: error, stdout: [], stderr: [], stdoutBytes: 0, stderrBytes: 0, enqueuedAt: now,
            startedAt: nil,
            finishedAt: blocker == nil ? nil : now, cancelRequested: false, dependencies: dependencies,
            claimed: false, delayed: runAt > now, unmetDependencies: unmet, process: nil)
    }
    // MARK: Rows of the daemon's transitions (inside a write transaction)

    private func startRows(_ starts: [(id: JobID, attempt: Int, startedAt: Timestamp, process: ProcessRecord?)]) throws
        -> Set<JobID>
    {
        var started = Set<JobID>()
        let statement = try connection.prepare(
            """
            UPDATE jobs SET state = 'running', attempts = ?2, started_at = ?3, claimed = 0,
                pid = ?4, pgid = ?5, pid_start_time = ?6,
                stdout_tail = NULL, stderr_tail = NULL, stdout_bytes = 0, stderr_bytes = 0
            WHERE id = ?1 AND state = 'pending' AND claimed = 1 AND attempts = ?2 - 1
            """)
        for start in starts {
            statement.reset()
            try statement.bind(start.id, at: 1)
            try statement.bind(start.attempt, at: 2)
            try statement.bind(start.startedAt.milliseconds, at: 3)
            try statement.bind(start.process.map { Int64($0.pid) }, at: 4)
            try statement.bind(start.process.map { Int64($0.processGroup) }, at: 5)
            try statement.bind(start.process.map { Int64(bitPattern: $0.startTime) }, at: 6)
            try statement.run()
            if connection.changes == 1 { started.insert(start.id) }
        }
        return started
    }

    /// Records the processes that running attempts run as, so that a later daemon can stop what
    /// they leave behind after a crash. Fenced like `finish`: a record for an attempt that is no
    /// longer running is ignored.
    private func processRows(_ records: [(id: JobID, attempt: Int, process: ProcessRecord)]) throws {
        let statement = try connection.prepare(
            """
            UPDATE jobs SET pid = ?3, pgid = ?4, pid_start_time = ?5
            WHERE id = ?1 AND state = 'running' AND attempts = ?2
            """)
        for record in records {
            statement.reset()
            try statement.bind(record.id, at: 1)
            try statement.bind(record.attempt, at: 2)
            try statement.bind(Int64(record.process.pid), at: 3)
            try statement.bind(Int64(record.process.processGroup), at: 4)
            try statement.bind(Int64(bitPattern: record.process.startTime), at: 5)
            try statement.run()
        }
    }

    /// Applies `results`; also says whether they may have made other jobs claimable (see `record`).
    private func resultRows(_ results: [JobResult]) throws -> (states: [JobID: JobState], newlyClaimable: Bool) {
        var states: [JobID: JobState] = [:]
        states.reserveCapacity(results.count)
        var succeeded: [JobID] = []
        let success = try connection.prepare(Self.succeedSQL)
        for result in results {
            if case .succeeded = result.outcome {
                // The common case in one fenced statement; dependents are updated once per batch.
                success.reset()
                try success.bind(result.id, at: 1)
                try success.bind(result.attempt, at: 2)
                try success.bind(Self.tail(result.output.stdout), at: 3)
                try success.bind(Self.tail(result.output.stderr), at: 4)
                try success.bind(result.finishedAt.milliseconds, at: 5)
                try success.bind(result.output.stdoutBytes, at: 6)
                try success.bind(result.output.stderrBytes, at: 7)
                try success.run()
                if connection.changes == 1 {
                    states[result.id] = .succeeded
                    succeeded.append(result.id)
                }
            } else if let state = try applyUnsuccessful(result) {
                states[result.id] = state
            }
        }
        var newlyClaimable = states.values.contains(.pending)
        if !succeeded.isEmpty {
            let dependents = try connection.prepare(Self.releaseDependentsSQL)
            try dependents.bind(Self.jsonList(succeeded), at: 1)
            try dependents.run()
            newlyClaimable = newlyClaimable || connection.changes > 0
        }
        return (states, newlyClaimable)
    }

    private func outputRow(_ id: JobID, attempt: Int, _ output: CapturedOutput) throws {
        let statement = try connection.prepare(
            """
            UPDATE jobs SET stdout_tail = ?3, stderr_tail = ?4, stdout_bytes = ?5, stderr_bytes = ?6
            WHERE id = ?1 AND state = 'running' AND attempts = ?2
            """)
        try statement.bind(id, at: 1)
        try statement.bind(attempt, at: 2)
        try statement.bind(Self.tail(output.stdout), at: 3)
        try statement.bind(Self.tail(output.stderr), at: 4)
        try statement.bind(output.stdoutBytes, at: 5)
        try statement.bind(output.stderrBytes, at: 6)
        try statement.run()
    }

    /// Applies one fenced result other than success; `nil` when the fence rejected it.
    private func applyUnsuccessful(_ result: JobResult) throws -> JobState? {
        let current = try connection.prepare(
            """
            SELECT failures, max_retries, backoff_ms, cancel_requested FROM jobs
            WHERE id = ?1 AND state = 'running' AND attempts = ?2
            """)
        try current.bind(result.id, at: 1)
        try current.bind(result.attempt, at: 2)
        guard try current.step() else { return nil }
        let failures = current.int(at: 0)
        let maxRetries = current.int(at: 1)
        let backoff = Duration.milliseconds(current.int64(at: 2))
        let cancelRequested = current.int(at: 3) != 0
        current.reset()

        var state: JobState
        var exitCode: Int?
        var signal: Int?
        var error: String?
        var newFailures = failures
        switch result.outcome {
        case .failed(let code, let killedBy, let reason):
            exitCode = code
            signal = killedBy
            error = reason ?? Self.failureText(exitCode: code, signal: killedBy)
            newFailures += 1
            state = newFailures <= maxRetries ? .pending : .failed
        case .timedOut(let limit, let code, let killedBy):
            exitCode = code
            signal = killedBy
            error = "timed out after \(DurationText.format(limit))"
            newFailures += 1
            state = newFailures <= maxRetries ? .pending : .failed
        case .cancelled(let reason, let code, let killedBy):
            exitCode = code
            signal = killedBy
            state = .cancelled
            error = reason ?? "cancelled by request"
        case .interrupted:
            state = .pending
        case .succeeded:
            preconditionFailure("successes are applied by finish(_:) itself")
        }
        if cancelRequested {
            state = .cancelled
            error = "cancelled by request"
        }
        var runAt: Int64?
        if state == .pending && newFailures > failures {
            let delay = RetryBackoff(base: backoff).delay(
                afterFailure: newFailures, jitter: Double.random(in: 0...1, using: &random))
            runAt = result.finishedAt.milliseconds + delay.wholeMilliseconds
        }

        let update = try connection.prepare(
            """
            UPDATE jobs SET state = ?2, failures = ?3, exit_code = ?4, signal = ?5, error = ?6,
                stdout_tail = ?7, stderr_tail = ?8, finished_at = ?9, run_at = coalesce(?10, run_at),
                delayed = ?11, claimed = 0, pid = NULL, pgid = NULL, pid_start_time = NULL,
                stdout_bytes = ?12, stderr_bytes = ?13
            WHERE id = ?1
            """)
        try update.bind(result.id, at: 1)
        try update.bind(state.rawValue, at: 2)
        try update.bind(newFailures, at: 3)
        try update.bind(exitCode, at: 4)
        try update.bind(signal, at: 5)
        try update.bind(error, at: 6)
        try update.bind(Self.tail(result.output.stdout), at: 7)
        try update.bind(Self.tail(result.output.stderr), at: 8)
        try update.bind(state.isTerminal ? result.finishedAt.milliseconds : nil, at: 9)
        try update.bind(runAt, at: 10)
        try update.bind(runAt.map { $0 > result.finishedAt.milliseconds ? 1 : 0 } ?? 0, at: 11)
        try update.bind(result.output.stdoutBytes, at: 12)
        try update.bind(result.output.stderrBytes, at: 13)
        try update.run()

        if state.isTerminal {
            try cascadeCancel(
                from: result.id, because: state == .failed ? "failed" : "was cancelled", now: result.finishedAt)
        }
        return state
    }

    /// Cancels one pending job and, transitively, its pending dependents.
    private func cancelPending(_ id: JobID, reason: String, now: Timestamp) throws {
        let statement = try connection.prepare(
            """
            UPDATE jobs SET state = 'cancelled', claimed = 0, error = ?2, finished_at = ?3
            WHERE id = ?1 AND state = 'pending'
            """)
        try statement.bind(id, at: 1)
        try statement.bind(reason, at: 2)
        try statement.bind(now.milliseconds, at: 3)
        try statement.run()
        try cascadeCancel(from: id, because: "was cancelled", now: now)
    }

    /// Cancels every pending job that depends, directly or through other pending jobs, on `root`,
    /// with an error naming `root`.
    private func cascadeCancel(from root: JobID, because what: String, now: Timestamp) throws {
        let statement = try connection.prepare(
            """
            WITH RECURSIVE doomed (id) AS (
                SELECT d.job_id FROM job_dependencies AS d JOIN jobs AS j ON j.id = d.job_id
                WHERE d.depends_on = ?1 AND j.state = 'pending'
                UNION
                SELECT d.job_id FROM job_dependencies AS d JOIN doomed ON d.depends_on = doomed.id
                JOIN jobs AS j ON j.id = d.job_id
                WHERE j.state = 'pending'
            )
            UPDATE jobs SET state = 'cancelled', claimed = 0, error = ?2, finished_at = ?3
            WHERE id IN (SELECT id FROM doomed)
            """)
        try statement.bind(root, at: 1)
        try statement.bind("dependency \(root) \(what)", at: 2)
        try statement.bind(now.milliseconds, at: 3)
        try statement.run()
    }

    private func state(of id: JobID) throws -> JobState? {
        let statement = try connection.prepare("SELECT state FROM jobs WHERE id = ?1")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        guard try statement.step() else { return nil }
        return try decodeState(statement, at: 0, id: id)
    }

    private func dependencies(of id: JobID) throws -> [JobID] {
        let statement = try connection.prepare(
            "SELECT depends_on FROM job_dependencies WHERE job_id = ?1 ORDER BY depends_on")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        var ids: [JobID] = []
        while try statement.step() { ids.append(statement.int64(at: 0)) }
        return ids
    }

    private func dependencyStates(of id: JobID) throws -> [(id: JobID, state: JobState)] {
        let statement = try connection.prepare(
            """
            SELECT j.id, j.state FROM job_dependencies AS d JOIN jobs AS j ON j.id = d.depends_on
            WHERE d.job_id = ?1 ORDER BY j.id
            """)
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        var states: [(id: JobID, state: JobState)] = []
        while try statement.step() {
            let dependency = statement.int64(at: 0)
            states.append((dependency, try decodeState(statement, at: 1, id: dependency)))
        }
        return states
    }

    private func decodeJob(_ row: Statement) throws(StoreError) -> Job {
        let id = row.int64(at: 0)
        return Job(
            id: id, queue: row.string(at: 1) ?? "", state: try decodeState(row, at: 2, id: id),
            priority: row.int(at: 3), command: try decodeCommand(row, argv: 4, shell: 5, id: id),
            workingDirectory: row.string(at: 6) ?? "", environment: try decodeEnvironment(row, at: 7, id: id),
            runAt: Timestamp(milliseconds: row.int64(at: 8)),
            timeout: row.optionalInt64(at: 9).map { .milliseconds($0) }, maxRetries: row.int(at: 10),
            backoff: .milliseconds(row.int64(at: 11)), attempts: row.int(at: 12), failures: row.int(at: 13),
            exitCode: row.optionalInt(at: 14), signal: row.optionalInt(at: 15), error: row.string(at: 16),
            stdout: row.blob(at: 17), stderr: row.blob(at: 18), stdoutBytes: row.int64(at: 29),
            stderrBytes: row.int64(at: 30), enqueuedAt: Timestamp(milliseconds: row.int64(at: 19)),
            startedAt: row.optionalInt64(at: 20).map(Timestamp.init(milliseconds:)),
            finishedAt: row.optionalInt64(at: 21).map(Timestamp.init(milliseconds:)),
            cancelRequested: row.int(at: 22) != 0, dependencies: [], claimed: row.int(at: 23) != 0,
            delayed: row.int(at: 28) != 0, unmetDependencies: row.int(at: 24), process: Self.processRecord(row, at: 25))
    }

    private func decodeState(_ row: Statement, at column: Int32, id: JobID) throws(StoreError) -> JobState {
        let text = row.string(at: column) ?? ""
        guard let state = JobState(rawValue: text) else { throw .undecodableJob(id, reason: "unknown state '\(text)'") }
        return state
    }

    private func decodeCommand(_ row: Statement, argv: Int32, shell: Int32, id: JobID) throws(StoreError) -> JobCommand
    {
        let words: [String]?
        do {
            words = try row.withText(at: argv) { bytes throws(JSONParseError) in
                try JSONText.decodeArray(bytes)
            }
        } catch {
            throw .undecodableJob(id, reason: "argv is not a JSON array of strings: \(error)")
        }
        if let words {
            guard !words.isEmpty else { throw .undecodableJob(id, reason: "argv is empty") }
            return .argv(words)
        }
        guard let script = row.string(at: shell) else {
            throw .undecodableJob(id, reason: "neither argv nor shell is set")
        }
        return .shell(script)
    }

    private func decodeEnvironment(_ row: Statement, at column: Int32, id: JobID) throws(StoreError) -> [String: String]
    {
        do {
            return try row.withText(at: column) { bytes throws(JSONParseError) in
                try JSONText.decodeObject(bytes)
            } ?? [:]
        } catch {
            throw .undecodableJob(id, reason: "env is not a JSON object of strings: \(error)")
        }
    }

    /// A queue's settings from a row whose first columns are `name, concurrency, capacity,
    /// idle_timeout_ms, paused`.
    private static func decodeQueueSettings(_ row: Statement) -> QueueSettings {
        QueueSettings(
            name: row.string(at: 0) ?? "", concurrency: row.optionalInt(at: 1), capacity: row.optionalInt(at: 2),
            idleTimeout: row.optionalInt64(at: 3).map { .milliseconds($0) }, paused: row.int(at: 4) != 0)
    }

    private static func processRecord(_ row: Statement, at column: Int32) -> ProcessRecord? {
        guard let pid = row.optionalInt64(at: column) else { return nil }
        return ProcessRecord(
            pid: Int32(truncatingIfNeeded: pid), processGroup: Int32(truncatingIfNeeded: row.int64(at: column + 1)),
            startTime: UInt64(bitPattern: row.int64(at: column + 2)))
    }

    private static func tail(_ bytes: [UInt8]) -> [UInt8] {
        bytes.count <= outputTailLimit ? bytes : Array(bytes.suffix(outputTailLimit))
    }

    private static func jsonList(_ ids: [JobID]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    static func dependencyError(_ id: JobID, _ state: JobState) -> String {
        "dependency \(id) " + (state == .failed ? "failed" : "was cancelled")
    }

    /// Linux's `MAX_ARG_STRLEN`: the limit on one argument or environment string, its NUL included.
    static let maximumArgumentBytes = 32 * 4096

    static func failureText(exitCode: Int?, signal: Int?) -> String {
        if let signal { return "killed by signal \(signal)" }
        if let exitCode { return "exit status \(exitCode)" }
        return "failed"
    }

    /// What is wrong with `queue` as a queue name (empty, or with a control character), or `nil`.
    public static func problem(withQueueName queue: String) -> String? {
        if queue.isEmpty { return "the queue name is empty" }
        if queue.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "the queue name contains a control character"
        }
        return nil
    }

    /// What is wrong with `request` (an empty command, a relative directory, …), or `nil`:
    /// what `enqueue` refuses, for a client to check before it opens the database.
    public static func problem(with request: JobRequest) -> String? {
        if let problem = problem(withQueueName: request.queue) { return problem }
        switch request.command {
        case .argv(let argv) where argv.first?.isEmpty ?? true: return "the command is empty"
        case .shell(let script) where script.allSatisfy(\.isWhitespace): return "the shell script is empty"
        default: break
        }
        let arguments = request.command.executableArgv + request.environment.map { $0.key + "=" + $0.value }
        if arguments.contains(where: { $0.utf8.contains(0) }) {
            return "the command or environment contains a NUL character, which no program can receive"
        }
        // Linux passes no single argument or environment string of 128 KiB or more to a program
        // (MAX_ARG_STRLEN): such a job could be stored but never started.
        if let long = arguments.first(where: { $0.utf8.count >= maximumArgumentBytes }) {
            return "an argument or environment variable of \(long.utf8.count) bytes is more than Linux passes to a "
                + "program (\(maximumArgumentBytes - 1)); put it in a file"
        }
        if request.workingDirectory.utf8.contains(0) { return "the working directory contains a NUL character" }
        if !request.workingDirectory.hasPrefix("/") {
            return "the working directory must be an absolute path, not '\(request.workingDirectory)'"
        }
        if request.retries < 0 { return "retries cannot be negative" }
        if request.backoff < .zero { return "the backoff cannot be negative" }
        if let timeout = request.timeout, timeout.wholeMilliseconds <= 0 { return "the timeout must be positive" }
        if let key = request.environment.keys.first(where: { $0.isEmpty || $0.contains("=") }) {
            return "invalid environment variable name '\(key)'"
        }
        if let bad = request.dependencies.first(where: { $0 <= 0 }) { return "invalid job id \(bad) in after" }
        return nil
    }
}

extension JobStore {
    /// Whether the caller runs on the store's dedicated thread (for tests of the executor wiring).
    func isOnOwnThread() -> Bool {
        executor.isCurrentThread
    }
}
