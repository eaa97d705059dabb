import CSQLite
import JobqCore
import JobqSQLite

/// Why a store operation failed, as one line that names the database file (or the job).
/// Raw SQLite failures are classified into the cases people can act on.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file exists but is not a SQLite database (it is left untouched).
    case notADatabase(path: String)
    /// The file is a SQLite database of something else: tables, but no jobq schema (it is left
    /// untouched).
    case foreignDatabase(path: String)
    /// The database was written by a newer jobq (its `user_version` is higher than we know).
    case newerSchema(path: String, found: Int, supported: Int)
    /// The file or its directory cannot be opened or created.
    case cannotOpen(path: String, reason: String)
    /// The database, or its directory, cannot be written.
    case readOnly(path: String)
    /// Another connection held a lock for longer than the busy timeout.
    case busy(path: String)
    /// The disk (or a quota) is full; the transaction was rolled back.
    case diskFull(path: String)
    /// No job has this id.
    case jobNotFound(JobID)
    /// An enqueued job names a dependency that does not exist; nothing was enqueued.
    case dependencyNotFound(JobID)
    /// A job to retry depends on one that failed or was cancelled and is not retried with it: it
    /// could only be cancelled again. Nothing was retried.
    case retryBlocked(JobID, dependency: JobID, dependencyState: JobState)
    /// A request is malformed (empty command, relative directory, negative retries, …).
    case invalidRequest(String)
    /// A stored job cannot be decoded (someone edited the row by hand).
    case undecodableJob(JobID, reason: String)
    /// Another daemon holds the single-daemon lock of this database.
    case daemonAlreadyRunning(path: String, pid: Int32?)
    /// Any other SQLite failure.
    case sqlite(SQLiteError)

    /// One line for people, naming the file or the job.
    public var description: String {
        switch self {
        case .notADatabase(let path):
            "\(path) is not a jobq database (not a SQLite file); it was left untouched"
        case .foreignDatabase(let path):
            "\(path) is not a jobq database (a SQLite database of something else); it was left untouched"
        case .newerSchema(let path, let found, let supported):
            "\(path) has schema version \(found), newer than this jobq supports (\(supported)); upgrade jobq"
        case .cannotOpen(let path, let reason):
            "cannot open database \(path): \(reason)"
        case .readOnly(let path):
            "database \(path) is read-only (check the permissions of the file and its directory)"
        case .busy(let path):
            "database \(path) is locked by another process (gave up after the busy timeout)"
        case .diskFull(let path):
            "database \(path): disk full; nothing was changed"
        case .jobNotFound(let id):
            "job \(id) not found"
        case .dependencyNotFound(let id):
            "dependency job \(id) not found; nothing was enqueued"
        case .retryBlocked(let id, let dependency, let state):
            "job \(id) depends on job \(dependency), which \(state == .failed ? "failed" : "was cancelled"); "
                + "retry that one too (nothing was retried)"
        case .invalidRequest(let reason):
            "invalid request: \(reason)"
        case .undecodableJob(let id, let reason):
            "job \(id) cannot be decoded: \(reason)"
        case .daemonAlreadyRunning(let path, let pid):
            "another jobqd is already running on \(path)" + (pid.map { " (pid \($0))" } ?? "")
        case .sqlite(let error):
            error.description
        }
    }

    /// Classifies a SQLite failure.
    init(_ error: SQLiteError) {
        switch error.code {
        case SQLITE_NOTADB: self = .notADatabase(path: error.path)
        case SQLITE_BUSY, SQLITE_LOCKED: self = .busy(path: error.path)
        case SQLITE_FULL: self = .diskFull(path: error.path)
        case SQLITE_READONLY: self = .readOnly(path: error.path)
        case SQLITE_CANTOPEN: self = .cannotOpen(path: error.path, reason: error.message)
        default: self = .sqlite(error)
        }
    }

    /// `error` as a `StoreError`: itself if it is one, classified if it is a SQLite failure.
    static func from(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as SQLiteError: StoreError(error)
        default: .invalidRequest(String(describing: error))
        }
    }
}
