import ArgumentParser
import JobqCore
import JobqStore

/// `--db PATH`, accepted by every command.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The database file.",
            discussion:
                "Default: $JOBQ_DB, else /var/lib/jobq/jobq.db if it exists, else $XDG_STATE_HOME/jobq/jobq.db"
                + " (~/.local/state/jobq/jobq.db).",
            valueName: "path"))
    var db: String?

    /// A `--db` given before the command name (`jobq --db PATH status`), which
    /// `JobqMain` takes off the arguments; the command's own `--db` wins over it.
    @TaskLocal static var leadingDatabase: String?

    func validate() throws {
        // An empty --db is a mistake (`--db "$UNSET"`), never a request for the default database.
        if (db ?? Self.leadingDatabase)?.isEmpty == true { throw ValidationError("--db needs a path; it is empty") }
    }
}

/// The database a command works on: where it is, and how to open it.
struct Database {
    /// The resolved path (SPEC §4 order).
    let path: String

    init(_ options: GlobalOptions, environment: [String: String]) throws(CLIError) {
        try self.init(explicit: options.db, environment: environment)
    }

    /// The database of a command given `--db explicit` after its name (`nil` if not given);
    /// a leading `--db` comes next, then the environment and the default locations.
    init(explicit: String?, environment: [String: String]) throws(CLIError) {
        do {
            path = try DatabaseLocation.resolve(
                explicit: explicit ?? GlobalOptions.leadingDatabase, environment: environment,
                notUTF8: ProcessEnvironment.notUTF8, for: .client)
        } catch {
            throw .failed(error.description)
        }
    }

    /// Opens the database for a command that writes, creating the file and its missing
    /// directories (mode 0700) if needed. The store is confined to this thread: the CLI calls
    /// it synchronously (`assumeIsolated`), with no thread of its own to start or hand off to.
    func openCreating() throws(CLIError) -> JobStore {
        try open(createIfMissing: true)
    }

    /// Opens the database if the file exists and is not empty; `nil` otherwise (nothing was ever
    /// enqueued there), so that reading commands never create it.
    func openExisting() throws(CLIError) -> JobStore? {
        guard FileSystem.exists(path) else { return nil }
        // An empty file (`touch`ed, or made by a tool that never wrote to it) holds nothing yet;
        // opening it would write the schema into it. With a WAL beside it, the WAL may hold it all.
        // A link (symbolic or hard) is opened, to be refused.
        if FileSystem.isEmptyFile(path), !FileSystem.exists(path + "-wal") { return nil }
        return try open(createIfMissing: false)
    }

    private func open(createIfMissing: Bool) throws(CLIError) -> JobStore {
        do {
            return try JobStore(confinedToCallingThread: path, durability: .full, createIfMissing: createIfMissing)
        } catch {
            throw .failed(error.description)
        }
    }

    /// A store failure as the one-line error of exit status 1, naming the database.
    func failure(_ error: any Error) -> CLIError {
        switch error {
        case let error as CLIError: return error
        case StoreError.jobNotFound(let id): return jobNotFound(id)
        case let error as StoreError: return .failed(error.description)
        default: return .failed("\(path): \(error)")
        }
    }

    /// `no job 42 in /path/jobq.db`.
    func jobNotFound(_ id: JobID) -> CLIError {
        .failed("no job \(id) in \(path)")
    }
}

extension Database {
    /// Runs `body` on the store, created if missing; every failure becomes a `CLIError`
    /// naming the database.
    func writing<Result: Sendable>(_ body: (isolated JobStore) throws -> Result) throws(CLIError) -> Result {
        let store = try openCreating()
        do {
            return try store.assumeIsolated(body)
        } catch {
            throw failure(error)
        }
    }

    /// Runs `body` on the store if the database exists, else returns `nil`: a database
    /// that was never created reads as empty, and is not created.
    func reading<Result: Sendable>(_ body: (isolated JobStore) throws -> Result) throws(CLIError) -> Result? {
        guard let store = try openExisting() else { return nil }
        do {
            return try store.assumeIsolated(body)
        } catch {
            throw failure(error)
        }
    }
}

/// The line that tells a person at a terminal that no `jobqd` serves the database, so what they
/// enqueue or wait for will not move until one starts. Scripts (no terminal on stderr) often
/// enqueue before starting a daemon on purpose, and hear nothing.
enum DaemonNote {
    /// Whether to say it: stderr is a terminal and no daemon holds the database's lock.
    static func isDue(for database: Database) -> Bool {
        OutputStream.standardError.isTerminal && DaemonLock.holder(databasePath: database.path) == nil
    }

    /// Says it, with what follows for the person (`the job waits until one starts`).
    static func write(for database: Database, _ consequence: String) {
        OutputStream.standardError.write(
            "jobq: no jobqd serves \(database.path.displaySafe): \(consequence) (run jobqd, or start jobqd.service)\n")
    }
}
