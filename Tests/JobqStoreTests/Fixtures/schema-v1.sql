-- A jobq database at schema version 1, as `sqlite3 jobq.db .dump` printed it (plus its user_version).
-- Never regenerate it: it stands for databases already out there. SchemaTests upgrades it.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE queues (
    name            TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
    concurrency     INTEGER CHECK (concurrency IS NULL OR concurrency > 0),
    capacity        INTEGER CHECK (capacity IS NULL OR capacity > 0),
    idle_timeout_ms INTEGER CHECK (idle_timeout_ms IS NULL OR idle_timeout_ms >= 0),
    paused          INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at      INTEGER NOT NULL
);
INSERT INTO queues VALUES('default',NULL,NULL,NULL,0,1700000000000);
INSERT INTO queues VALUES('media',2,50,30000,1,1700000000000);
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
    unmet_deps       INTEGER NOT NULL DEFAULT 0 CHECK (unmet_deps >= 0),
    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    pid              INTEGER,
    pgid             INTEGER,
    pid_start_time   INTEGER,
    CHECK ((argv IS NULL) <> (shell IS NULL))
);
INSERT INTO jobs VALUES(1,'default','succeeded',0,'["echo","hello"]',NULL,'/tmp','{"A":"1"}',1700000000000,NULL,0,1000,1,0,0,NULL,NULL,X'68656c6c6f0a',NULL,1700000000000,1700000001000,1700000002000,0,0,0,NULL,NULL,NULL);
INSERT INTO jobs VALUES(2,'media','pending',5,NULL,'ffmpeg -i in.mkv out.mp4','/srv','{}',1700000000000,NULL,0,1000,0,0,NULL,NULL,NULL,NULL,NULL,1700000000500,NULL,NULL,0,0,0,NULL,NULL,NULL);
INSERT INTO jobs VALUES(3,'default','pending',0,'["true"]',NULL,'/','{}',1700000000000,NULL,0,1000,0,0,NULL,NULL,NULL,NULL,NULL,1700000000600,NULL,NULL,0,1,0,NULL,NULL,NULL);
CREATE TABLE job_dependencies (
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on)
) WITHOUT ROWID;
INSERT INTO job_dependencies VALUES(3,2);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('jobs',3);
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, id)
    WHERE state = 'pending' AND claimed = 0 AND unmet_deps = 0;
CREATE INDEX jobs_due ON jobs (queue, run_at)
    WHERE state = 'pending' AND claimed = 0 AND unmet_deps = 0;
CREATE INDEX jobs_queue_state ON jobs (queue, state);
CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on);
CREATE VIEW queue_stats (queue, pending, running, succeeded, failed, cancelled) AS
SELECT q.name,
       (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'pending'),
       (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'running'),
       (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'succeeded'),
       (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'failed'),
       (SELECT count(*) FROM jobs WHERE queue = q.name AND state = 'cancelled')
FROM queues AS q;
COMMIT;
PRAGMA user_version = 1;
