import Foundation
import JobqTestSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why a daemon did not start or stop as it should.
public enum DaemonProcessError: Error, CustomStringConvertible {
    /// It ended before it sent `READY=1`.
    case exitedBeforeReady(ProcessResult)
    /// It did not send `READY=1` in time (it was killed).
    case notReady(timeout: Duration, stderr: String)

    public var description: String {
        switch self {
        case .exitedBeforeReady(let result): "jobqd ended before it was ready: \(result)"
        case .notReady(let timeout, let stderr): "jobqd sent no READY=1 within \(timeout); its log: \(stderr)"
        }
    }
}

/// A real `jobqd` started by a test or the soak driver, with `$NOTIFY_SOCKET` pointing at a
/// socket of ours, so "ready" means what it means for systemd: recovered and taking work
/// (SPEC §2). Stop it with `kill()` or `terminate()`; both reap it.
public final class DaemonProcess: Sendable {
    /// The running daemon.
    public let child: ChildProcess
    /// Where it sends `READY=1`, `STOPPING=1`, ….
    public let notifications: NotifySocket

    private static let counter = Atomic<Int>(0)

    private init(child: ChildProcess, notifications: NotifySocket) {
        self.child = child
        self.notifications = notifications
    }

    /// Starts `jobqd --db database arguments...` with this process's environment (minus any
    /// database or systemd settings of its own) and `$NOTIFY_SOCKET` set to a new socket in
    /// `directory`. Does not wait for it to be ready.
    public static func launch(
        database: String, directory: String, arguments: [String] = [], environment extra: [String: String] = [:]
    ) throws -> DaemonProcess {
        let binary = try Binaries.path(of: "jobqd")
        let number = counter.add(1, ordering: .relaxed).newValue
        let socket = try NotifySocket(path: "\(directory)/notify-\(getpid())-\(number).sock")
        var environment = ProcessInfo.processInfo.environment
        for key in ["JOBQ_DB", "STATE_DIRECTORY", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] {
            environment[key] = nil
        }
        environment["NOTIFY_SOCKET"] = socket.path
        environment.merge(extra) { $1 }
        let child = try ChildProcess.launch(binary, ["--db", database] + arguments, environment: environment)
        return DaemonProcess(child: child, notifications: socket)
    }

    /// Starts a daemon and waits for its `READY=1`; on failure it is killed and reaped.
    public static func start(
        database: String, directory: String, arguments: [String] = [], environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(30)
    ) async throws -> DaemonProcess {
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

    /// Whether it has sent `READY=1`.
    public var isReady: Bool { notifications.hasReceived("READY=1") }

    /// Waits for `READY=1`; throws if the daemon ends first or the timeout passes.
    public func waitUntilReady(timeout: Duration) async throws {
        do {
            try await waitUntil("READY=1 from jobqd", timeout: timeout) {
                if isReady { return true }
                if child.hasExited {
                    throw DaemonProcessError.exitedBeforeReady(try await child.waitForExit(timeout: .seconds(10)))
                }
                return false
            }
        } catch is WaitTimeoutError {
            throw DaemonProcessError.notReady(timeout: timeout, stderr: log)
        }
    }

    /// What it has logged so far (stderr).
    public var log: String { String(decoding: child.outputSoFar.stderr, as: UTF8.self) }

    /// SIGKILL, then reap.
    @discardableResult
    public func kill() async throws -> ProcessResult {
        child.send(SIGKILL)
        return try await child.waitForExit(timeout: .seconds(30))
    }

    /// SIGTERM (a graceful stop), then reap; after `timeout` it is killed and this throws.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(60)) async throws -> ProcessResult {
        child.send(SIGTERM)
        return try await child.waitForExit(timeout: timeout)
    }
}

/// Runs `body` with a ready daemon on `database`, then stops it gracefully (SIGTERM) and
/// returns how it ended along with `body`'s result. If `body` throws, the daemon is killed and
/// reaped before the error propagates, so no test leaves a daemon behind.
public func withDaemon<Result>(
    database: String, directory: String, arguments: [String] = [],
    _ body: (DaemonProcess) async throws -> Result
) async throws -> (result: Result, exit: ProcessResult) {
    let daemon = try await DaemonProcess.start(database: database, directory: directory, arguments: arguments)
    let result: Result
    do {
        result = try await body(daemon)
    } catch {
        _ = try? await daemon.kill()
        throw error
    }
    return (result, try await daemon.terminate())
}
