import JobqSQLite

/// One job as the soak checks it.
public struct JobRow: Sendable, Hashable {
    public var state: String
    public var attempts: Int
    public var exitCode: Int?
}

/// Read-only looks at a jobq database through a plain SQLite connection, the way any client
/// (a dashboard, the `sqlite3` shell) may look while the daemon writes. Used by one task at a
/// time; each query is short.
public final class DatabaseProbe {
    private let connection: Connection

    /// Opens the existing database at `path`.
    public init(path: String) throws(SQLiteError) {
        connection = try Connection(path: path)
    }

    /// The number of jobs in `state`.
    public func count(state: String) throws(SQLiteError) -> Int {
        let statement = try connection.prepare("SELECT count(*) FROM jobs WHERE state = ?1")
        try statement.bind(state, at: 1)
        defer { statement.reset() }
        _ = try statement.step()
        return statement.int(at: 0)
    }

    /// The number of jobs not yet terminal (pending or running): asyncio's "unfinished".
    public func unfinished() throws(SQLiteError) -> Int {
        Int(try connection.scalar("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')") ?? 0)
    }

    /// The jobs in `running`, with the attempt each is on and whether the process it runs as is
    /// recorded (what recovery needs to stop it after a crash).
    public func running() throws(SQLiteError) -> [(id: Int64, attempt: Int, processRecorded: Bool)] {
        let statement = try connection.prepare(
            "SELECT id, attempts, pgid IS NOT NULL FROM jobs WHERE state = 'running' ORDER BY id")
        defer { statement.reset() }
        var result: [(id: Int64, attempt: Int, processRecorded: Bool)] = []
        while try statement.step() {
            result.append((statement.int64(at: 0), statement.int(at: 1), statement.int(at: 2) != 0))
        }
        return result
    }

    /// Every job by id.
    public func jobs() throws(SQLiteError) -> [Int64: JobRow] {
        let statement = try connection.prepare("SELECT id, state, attempts, exit_code FROM jobs")
        defer { statement.reset() }
        var result: [Int64: JobRow] = [:]
        while try statement.step() {
            result[statement.int64(at: 0)] = JobRow(
                state: statement.string(at: 1) ?? "", attempts: statement.int(at: 2),
                exitCode: statement.optionalInt(at: 3))
        }
        return result
    }

    /// Where the `queue_stats` view and a count of the `jobs` table disagree (empty when they
    /// agree): per queue, the five state counts.
    public func queueStatsDisagreements() throws(SQLiteError) -> [String] {
        let states = ["pending", "running", "succeeded", "failed", "cancelled"]
        let view = try connection.prepare(
            "SELECT queue, pending, running, succeeded, failed, cancelled FROM queue_stats ORDER BY queue")
        var fromView: [String: [Int]] = [:]
        while try view.step() {
            fromView[view.string(at: 0) ?? ""] = (1...5).map { view.int(at: Int32($0)) }
        }
        view.reset()
        let table = try connection.prepare("SELECT queue, state, count(*) FROM jobs GROUP BY queue, state")
        var fromTable: [String: [Int]] = [:]
        while try table.step() {
            let queue = table.string(at: 0) ?? ""
            guard let index = states.firstIndex(of: table.string(at: 1) ?? "") else {
                return ["queue \(queue) has jobs in an unknown state \(table.string(at: 1) ?? "NULL")"]
            }
            fromTable[queue, default: [0, 0, 0, 0, 0]][index] = table.int(at: 2)
        }
        table.reset()
        var problems: [String] = []
        for queue in Set(fromView.keys).union(fromTable.keys).sorted() {
            let viewCounts = fromView[queue]
            let tableCounts = fromTable[queue] ?? [0, 0, 0, 0, 0]
            if viewCounts != tableCounts {
                problems.append(
                    "queue_stats says \(queue) has \(viewCounts.map { "\($0)" } ?? "no row"), the jobs table "
                        + "\(tableCounts) (\(states.joined(separator: "/")))")
            }
        }
        return problems
    }
}
