import JobqCore
import JobqSQLite

/// The baseline every store and daemon throughput figure is compared with: the claim → start →
/// finish protocol on the store's own schema and pragmas, with plain prepared statements, one
/// transaction per step and batch — what SQLite does for jobq with no library around it.
public enum RawProtocol {
    /// A connection with the store's pragmas, on a database `JobStore` has created.
    public static func connection(path: String, synchronousFull: Bool) throws -> Connection {
        let connection = try Connection(path: path)
        _ = try connection.text("PRAGMA journal_mode = WAL")
        try connection.execute(synchronousFull ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        try connection.execute("PRAGMA foreign_keys = ON")
        try connection.execute("PRAGMA cache_size = -65536")
        return connection
    }

    /// The store's claim (`UPDATE … RETURNING`, pinned to `jobs_ready`, skipping paused queues).
    public static let claimSQL = """
        UPDATE jobs SET claimed = 1 WHERE id IN (
            SELECT id FROM jobs INDEXED BY jobs_ready
            WHERE queue = ?1 AND state = 'pending' AND claimed = 0 AND unmet_deps = 0 AND delayed = 0
              AND run_at <= ?2
              AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?1 AND paused = 1)
            ORDER BY priority DESC, id LIMIT ?3)
        RETURNING id
        """

    /// Claims, starts and finishes `jobs` pending jobs of `queue`, `batch` at a time.
    /// - Throws: when the queue runs dry before `jobs` are done, or on any SQLite error.
    public static func claimStartFinish(_ connection: Connection, queue: String, batch: Int, jobs: Int) throws {
        var done = 0
        while done < jobs {
            let now = Timestamp.now().milliseconds
            let ids: [Int64] = try connection.writeTransaction {
                let claim = try connection.prepare(claimSQL)
                try claim.bind(queue, at: 1)
                try claim.bind(now, at: 2)
                try claim.bind(batch, at: 3)
                var ids: [Int64] = []
                while try claim.step() { ids.append(claim.int64(at: 0)) }
                claim.reset()
                return ids
            }
            guard !ids.isEmpty else { throw RawProtocolError(done: done) }
            try update(
                connection,
                "UPDATE jobs SET state = 'running', attempts = 1, started_at = ?2, claimed = 0 WHERE id = ?1", ids, now)
            try update(
                connection, "UPDATE jobs SET state = 'succeeded', exit_code = 0, finished_at = ?2 WHERE id = ?1", ids,
                now)
            done += ids.count
        }
    }

    /// Runs `sql` (binding ?1 = id, ?2 = now) for each id, in one transaction.
    private static func update(_ connection: Connection, _ sql: String, _ ids: [Int64], _ now: Int64) throws {
        try connection.writeTransaction {
            let statement = try connection.prepare(sql)
            for id in ids {
                statement.reset()
                try statement.bind(id, at: 1)
                try statement.bind(now, at: 2)
                try statement.run()
            }
        }
    }
}

/// The raw pipeline found fewer pending jobs than it was asked to process.
public struct RawProtocolError: Error, CustomStringConvertible {
    /// How many jobs it had processed.
    public var done: Int
    public var description: String { "raw pipeline: nothing left to claim after \(done) jobs" }
}
