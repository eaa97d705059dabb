import Foundation
import JobqTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One real `jobqd` process under test, with the service manager's side of sd_notify.
///
/// It is "ready" once it sent `READY=1` (SPEC §2: recovery done, taking work). Its stderr
/// (the log) is collected for diagnostics: failures of the waits below carry it. The
/// scenario that started it SIGKILLs and reaps it at teardown, whatever happened.
final class DaemonHarness: Sendable {
    /// The process (its own process group; the jobs it runs have groups of their own).
    let process: ChildProcess
    /// Where it sends `READY=1`, `STATUS=…`, `STOPPING=1`.
    let notifications: NotifySocket
    /// The options it was started with.
    let arguments: [String]

    /// Starts `jobqd arguments…` with `$NOTIFY_SOCKET` pointing at a new socket `notifyPath`.
    init(arguments: [String], environment: [String: String], notifyPath: String) throws {
        let notifications = try NotifySocket(path: notifyPath)
        var environment = environment
        environment["NOTIFY_SOCKET"] = notifications.path
        self.notifications = notifications
        self.arguments = arguments
        self.process = try ChildProcess.launch(
            try Binaries.path(of: "jobqd"), arguments, environment: environment)
    }

    /// Its stderr so far.
    var log: String { String(decoding: process.outputSoFar.stderr, as: UTF8.self) }

    /// Whether it has exited (and been reaped).
    var hasExited: Bool { process.hasExited }

    /// Waits until it sent `READY=1`; throws at once with its log if it exits first.
    func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        try await waitForNotification("READY=1", timeout: timeout)
    }

    /// Waits until it sent `assignment` (e.g. `"STOPPING=1"`).
    func waitForNotification(_ assignment: String, timeout: Duration = .seconds(30)) async throws {
        do {
            try await waitUntil("jobqd to send \(assignment)", timeout: timeout, interval: .milliseconds(5)) {
                notifications.hasReceived(assignment) || process.hasExited
            }
        } catch {
            throw HarnessError.timedOut(what: "jobqd to send \(assignment)", detail: "", log: log)
        }
        // It may have sent it and exited right after (e.g. STOPPING=1 on the way out).
        if !notifications.hasReceived(assignment) {
            let result = try await process.waitForExit(timeout: .seconds(10))
            throw HarnessError.daemonExitedEarly(status: result.termination.description, log: log)
        }
    }

    /// SIGTERM, then waits for it to exit (a graceful drain) and returns how it ended.
    @discardableResult
    func terminate(timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        process.send(SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    /// SIGKILL (a crash), and waits until it is reaped.
    @discardableResult
    func kill() async throws -> ProcessResult {
        process.send(SIGKILL)
        return try await waitForExit(timeout: .seconds(30))
    }

    /// Waits for it to exit by itself; after `timeout` it is killed and this throws.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        do {
            return try await process.waitForExit(timeout: timeout)
        } catch {
            throw HarnessError.timedOut(what: "jobqd to exit", detail: "killed after \(timeout)", log: log)
        }
    }
}
