#if canImport(Glibc)
    import Glibc
#endif

/// Why a `jobqd` under test did not do what the test waited for. Each case carries the
/// daemon's log (its stderr) for the failure message.
public enum JobqdProcessError: Error, CustomStringConvertible {
    /// It exited before it sent `assignment` (e.g. `READY=1`).
    case exitedBefore(assignment: String, ProcessResult, log: String)
    /// `what` did not happen within `timeout`.
    case timedOut(what: String, timeout: Duration, log: String)

    public var description: String {
        switch self {
        case .exitedBefore(let assignment, let result, let log):
            "jobqd exited (\(result.termination)) before it sent \(assignment); its log:\n\(log)"
        case .timedOut(let what, let timeout, let log):
            "timed out after \(timeout) waiting for \(what); jobqd's log:\n\(log)"
        }
    }
}

/// One real `jobqd` process under test, with the service manager's side of sd_notify: its
/// `$NOTIFY_SOCKET` points at a socket of ours, so "ready" means what it means for systemd —
/// it sent `READY=1`: recovered and taking work (SPEC §2). Its stderr (the log) is kept for
/// failure messages. Stop it with `kill()` or `terminate()`; both reap it.
public final class JobqdProcess: Sendable {
    /// The process (its own process group; the jobs it runs have groups of their own).
    public let process: ChildProcess
    /// Where it sends `READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`.
    public let notifications: NotifySocket
    /// The arguments it was started with.
    public let arguments: [String]

    /// Starts `jobqd arguments…` with `environment` and `$NOTIFY_SOCKET` set to a new socket
    /// at `notifyPath`. Does not wait for it to be ready.
    public init(arguments: [String], environment: [String: String], notifyPath: String) throws {
        let notifications = try NotifySocket(path: notifyPath)
        var environment = environment
        environment["NOTIFY_SOCKET"] = notifications.path
        self.notifications = notifications
        self.arguments = arguments
        self.process = try ChildProcess.launch(try Binaries.path(of: "jobqd"), arguments, environment: environment)
    }

    /// Its stderr so far.
    public var log: String { String(decoding: process.outputSoFar.stderr, as: UTF8.self) }

    /// Whether it has exited (and been reaped).
    public var hasExited: Bool { process.hasExited }

    /// Whether it has sent `READY=1`.
    public var isReady: Bool { notifications.hasReceived("READY=1") }

    /// Waits until it sent `READY=1`; throws at once, with its log, if it exits first.
    public func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        try await waitForNotification("READY=1", timeout: timeout)
    }

    /// Waits until it sent `assignment` (e.g. `"STOPPING=1"`).
    public func waitForNotification(_ assignment: String, timeout: Duration = .seconds(30)) async throws {
        do {
            try await waitUntil("jobqd to send \(assignment)", timeout: timeout) {
                notifications.hasReceived(assignment) || process.hasExited
            }
        } catch {
            throw JobqdProcessError.timedOut(what: "jobqd to send \(assignment)", timeout: timeout, log: log)
        }
        // It may have sent it and exited right after (e.g. STOPPING=1 on the way out).
        if !notifications.hasReceived(assignment) {
            let result = try await process.waitForExit(timeout: .seconds(10))
            throw JobqdProcessError.exitedBefore(assignment: assignment, result, log: log)
        }
    }

    /// SIGTERM (a graceful drain), then waits for it to exit and returns how it ended.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        process.send(SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    /// SIGKILL (a crash), and waits until it is reaped.
    @discardableResult
    public func kill() async throws -> ProcessResult {
        process.send(SIGKILL)
        return try await waitForExit(timeout: .seconds(30))
    }

    /// Waits for it to exit by itself; after `timeout` it is killed and this throws.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        do {
            return try await process.waitForExit(timeout: timeout)
        } catch {
            throw JobqdProcessError.timedOut(what: "jobqd to exit (it was killed)", timeout: timeout, log: log)
        }
    }
}
