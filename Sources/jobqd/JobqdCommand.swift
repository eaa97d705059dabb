import ArgumentParser
import JobqCore
import JobqDaemon
import JobqStore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `jobqd`: parses options, sets up logging once, and runs the daemon library.
@main
struct JobqdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobqd",
        abstract: "The jobq daemon: runs the jobs that `jobq add` enqueues.",
        discussion: """
            Runs until SIGTERM or SIGINT, then stops taking jobs, lets running ones finish \
            within --drain-timeout, and puts the rest back to pending. A second SIGTERM or SIGINT \
            ends the drain at once. One daemon per database.

            Example: jobqd --db /tmp/demo.db --concurrency 4 --log-level debug
            """,
        version: JobqVersion.current)

    @Option(
        help:
            "The database file (default: $JOBQ_DB, $STATE_DIRECTORY/jobq.db, /var/lib/jobq/jobq.db if it exists, $XDG_STATE_HOME/jobq/jobq.db, else ~/.local/state/jobq/jobq.db)."
    )
    var db: String?

    @Option(
        parsing: .unconditional,
        help: "Jobs run at once per queue, for queues without their own setting (default: the number of CPUs).")
    var concurrency: Int?

    @Option(parsing: .unconditional, help: "Jobs buffered in memory per queue, for queues without their own setting.")
    var capacity: Int = 64

    @Option(
        parsing: .unconditional,
        help: "How long an idle consumer waits for work before it ends, for queues without their own setting.")
    var idleTimeout: DurationOption = DurationOption(.seconds(10))

    @Option(
        parsing: .unconditional,
        help: """
            On SIGTERM, how long running jobs may go on before they are stopped and put back (a second \
            SIGTERM: at once).
            """)
    var drainTimeout: DurationOption = DurationOption(.seconds(30))

    @Option(parsing: .unconditional, help: "Between SIGTERM and SIGKILL when a job's process group is stopped.")
    var killGrace: DurationOption = DurationOption(.seconds(5))

    @Option(
        help:
            "How the daemon commits job state changes: 'normal' (group commit; a power loss may re-run the last jobs) or 'full' (every commit synced)."
    )
    var durability: DurabilityOption = .normal

    @Option(help: "The least severe level logged.")
    var logLevel: LogLevelOption = .info

    func validate() throws {
        // The library reads arguments with bad bytes replaced: `--db` would name another file.
        do {
            _ = try ProcessArguments.decoded()
        } catch {
            throw ValidationError("argument \(error.index) is not valid UTF-8; jobqd keeps paths as text")
        }
        // An empty --db is a mistake (`--db "$UNSET"`), never a request for the default database.
        if db?.isEmpty == true { throw ValidationError("--db needs a path; it is empty") }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if capacity < 1 { throw ValidationError("--capacity must be at least 1") }
    }

    func run() async throws {
        let environment = ProcessEnvironment.current
        let level = logLevel.level
        LoggingSystem.bootstrap { label in
            JournalLogHandler(label: label, level: level, environment: environment)
        }
        let logger = Logger(label: "jobqd")
        let notUTF8 = ProcessEnvironment.notUTF8
        if !notUTF8.isEmpty {
            logger.warning(
                "environment variables that are not valid UTF-8 are left out of the jobs' environment",
                metadata: ["variables": "\(notUTF8.sorted().joined(separator: ","))"])
        }
        let databasePath: String
        do {
            databasePath = try DatabaseLocation.resolve(
                explicit: db, environment: environment, notUTF8: notUTF8, for: .daemon)
        } catch {
            logger.critical("cannot run: \(error)")
            throw ExitCode.failure
        }
        let configuration = DaemonConfiguration(
            databasePath: absolute(databasePath),
            defaultConcurrency: concurrency ?? DaemonConfiguration.processorCount,
            defaultCapacity: capacity,
            defaultIdleTimeout: idleTimeout.duration,
            drainTimeout: drainTimeout.duration,
            killGrace: killGrace.duration,
            durability: durability.durability)
        do {
            try await Daemon(configuration: configuration, environment: environment, logger: logger).run()
        } catch let lost as DatabaseLost {
            logger.critical("stopped: \(lost)")
            throw ExitCode.failure
        } catch {
            logger.critical("cannot run: \(error)")
            throw ExitCode.failure
        }
    }
}

/// `path` made absolute against the current directory: jobs (which get it as `JOBQ_DB`) run
/// elsewhere, and recovery matches it exactly.
private func absolute(_ path: String) -> String {
    guard !path.hasPrefix("/"), let directory = FileSystem.currentDirectory() else { return path }
    return directory + "/" + path
}

/// A duration option in jobq's notation (`500ms`, `2s`, `5m`, `1.5`).
struct DurationOption: ExpressibleByArgument, Sendable {
    let duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        guard let duration = try? DurationText.parse(argument) else { return nil }
        self.duration = duration
    }

    var defaultValueDescription: String { DurationText.format(duration) }
}

enum DurabilityOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case normal, full

    var durability: Durability {
        switch self {
        case .normal: .normal
        case .full: .full
        }
    }
}

/// `--log-level`: swift-log's levels, by name.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
