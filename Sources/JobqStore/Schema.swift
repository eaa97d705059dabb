/// The database schema as an append-only list of named migrations. `PRAGMA user_version` holds
/// the number of migrations applied; opening a database applies the missing ones in one
/// transaction. Never edit a released migration: add a new one (docs/schema.md explains the rules).
public enum Schema {
    /// One step of the schema's history.
    public struct Migration: Sendable {
        /// The `user_version` after this migration.
        public let version: Int
        /// What it does, for logs and docs.
        public let name: String
        /// The statements it runs.
        public let sql: String
    }

    /// Every migration, in order; `migrations[i].version == i + 1`.
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "initial schema: jobs, job_dependencies, queues, queue_stats", sql: version1),
        Migration(version: 2, name: "jobs_readable view with ISO-8601 times", sql: version2),
        Migration(version: 3, name: "jobs.stdout_bytes and stderr_bytes: all the output of an attempt", sql: version3),
        Migration(version: 4, name: "queues_paused index", sql: version4),
    ]

    /// The schema version this build creates and understands.
    public static var currentVersion: Int { migrations.count }

    static let version1 = """
        CREATE TABLE queues (
            name            TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
            concurrency     INTEGER CHECK (concurrency IS NULL OR concurrency > 0),
            capacity        INTEGER CHECK (capacity IS NULL OR capacity > 0),
            idle_timeout_ms INTEGER CHECK (idle_timeout_ms IS NULL OR idle_timeout_ms >= 0),
            paused          INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
            created_at      INTEGER NOT NULL
        );

        CREATE TABLE jobs (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            queue            TEXT NOT NULL REFERENCES queues (name),
            state            TEXT NOT NULL
                             CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
            priority         INTEGER NOT NULL DEFAULT 0,
            argv             TEXT,
            shell            TEXT,
            cwd              TEXT NOT NULL,
            env              TEXT NOT NULL DEFAULT '{}',
            run_at           INTEGER NOT NULL,
            timeout_ms       INTEGER CHECK (timeout_ms IS NULL OR timeout_ms > 0),
            max_retries      INTEGER NOT NULL DEFAULT 0 CHECK (max_retries >= 0),
            backoff_ms       INTEGER NOT NULL DEFAULT 1000 CHECK (backoff_ms >= 0),
            attempts         INTEGER NOT NULL DEFAULT 0,
            failures         INTEGER NOT NULL DEFAULT 0,
            exit_code        INTEGER,
            signal           INTEGER,
            error            TEXT,
            stdout_tail      BLOB,
            stderr_tail      BLOB,
            enqueued_at      INTEGER NOT NULL,
            started_at       INTEGER,
            finished_at      INTEGER,
            claimed          INTEGER NOT NULL DEFAULT 0 CHECK (claimed IN (0, 1)),
            delayed          INTEGER NOT NULL DEFAULT 0 CHECK (delayed IN (0, 1)),
            unmet_deps       INTEGER NOT NULL DEFAULT 0 CHECK (unmet_deps >= 0),
            cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
            pid              INTEGER,
            pgid             INTEGER,
            pid_start_time   INTEGER,
            CHECK ((argv IS NULL) <> (shell IS NULL))
        );

        -- Claim: the next due jobs of a queue by priority, then enqueue order, in O(log n).
        -- Jobs waiting for their run_at (delayed = 1) stay out of it, so a backlog of delayed
        -- or backing-off jobs costs a claim nothing.
        CREATE INDEX jobs_ready ON jobs (queue, priority DESC, id)
            WHERE state = 'pending' AND claimed = 0 AND unmet_deps = 0 AND delayed = 0;
        -- Delayed jobs by due time: the claim moves the due ones into jobs_ready (delayed = 0),
        -- and nextDueTime reads the earliest.
        CREATE INDEX jobs_delayed ON jobs (queue, run_at) WHERE state = 'pending' AND delayed = 1;
        -- Counts and listings by queue and state (status, join, list --state).
        CREATE INDEX jobs_queue_state ON jobs (queue, state);

        CREATE TABLE job_dependencies (
            job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            depends_on INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            PRIMARY KEY (job_id, depends_on)
        ) WITHOUT ROWID;
        CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on);

        CREATE VIEW queue_stats (queue, pending, running, succeeded, failed, cancelled) AS
        SELECT q.name,
               (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'pending'),
               (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'running'),
               (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'succeeded'),
               (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'failed'),
               (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'cancelled')
        FROM queues AS q;
        """

    static let version2 = """
        CREATE VIEW jobs_readable AS
        SELECT id, queue, state, priority,
               coalesce(shell, argv) AS command,
               attempts, failures, max_retries, exit_code, signal, error,
               strftime('%Y-%m-%dT%H:%M:%fZ', enqueued_at / 1000.0, 'unixepoch') AS enqueued,
               strftime('%Y-%m-%dT%H:%M:%fZ', run_at / 1000.0, 'unixepoch') AS run_at,
               strftime('%Y-%m-%dT%H:%M:%fZ', started_at / 1000.0, 'unixepoch') AS started,
               strftime('%Y-%m-%dT%H:%M:%fZ', finished_at / 1000.0, 'unixepoch') AS finished
        FROM jobs;
        """

    /// The byte counts let `jobq logs --follow` tell new output from old where a tail looks the
    /// same (repeated lines, a new attempt printing what the last one did). Existing rows count
    /// what their tails hold.
    static let version3 = """
        ALTER TABLE jobs ADD COLUMN stdout_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN stderr_bytes INTEGER NOT NULL DEFAULT 0;
        UPDATE jobs SET stdout_bytes = coalesce(length(stdout_tail), 0), stderr_bytes = coalesce(length(stderr_tail), 0)
        WHERE stdout_tail IS NOT NULL OR stderr_tail IS NOT NULL;
        """

    /// The paused queues without a scan of every queue the database has seen: the daemon looks
    /// them up on every wake-up (`JobStore.queuesToServe`).
    static let version4 = """
        CREATE INDEX queues_paused ON queues (name) WHERE paused = 1;
        """
}
