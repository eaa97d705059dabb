import Foundation
import JobqTestSupport
import Synchronization

extension JobqdProcess {
    private static let counter = Atomic<Int>(0)

    /// Starts `jobqd --db database arguments...` with this process's environment (minus any
    /// database or systemd settings of its own) plus `environment`, its notify socket in
    /// `directory`. Does not wait for it to be ready.
    public static func launch(
        database: String, directory: String, arguments: [String] = [], environment extra: [String: String] = [:]
    ) throws -> JobqdProcess {
        let number = counter.add(1, ordering: .relaxed).newValue
        var environment = ProcessInfo.processInfo.environment
        for key in ["JOBQ_DB", "STATE_DIRECTORY", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] {
            environment[key] = nil
        }
        environment.merge(extra) { $1 }
        return try JobqdProcess(
            arguments: ["--db", database] + arguments, environment: environment,
            notifyPath: "\(directory)/notify-\(getpid())-\(number).sock")
    }

    /// Starts a daemon and waits for its `READY=1`; on failure it is killed and reaped.
    public static func start(
        database: String, directory: String, arguments: [String] = [], environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(30)
    ) async throws -> JobqdProcess {
        let daemon = try launch(
            database: database, directory: directory, arguments: arguments, environment: environment)
        do {
            try await daemon.waitUntilReady(timeout: readyTimeout)
        } catch {
            _ = try? await daemon.kill()
            throw error
        }
        return daemon
    }
}

/// Runs `body` with a ready daemon on `database`, then stops it gracefully (SIGTERM) and
/// returns how it ended along with `body`'s result. If `body` throws, the daemon is killed and
/// reaped before the error propagates, so no test leaves a daemon behind.
public func withDaemon<Result>(
    database: String, directory: String, arguments: [String] = [],
    _ body: (JobqdProcess) async throws -> Result
) async throws -> (result: Result, exit: ProcessResult) {
    let daemon = try await JobqdProcess.start(database: database, directory: directory, arguments: arguments)
    let result: Result
    do {
        result = try await body(daemon)
    } catch {
        _ = try? await daemon.kill()
        throw error
    }
    return (result, try await daemon.terminate(timeout: .seconds(60)))
}
