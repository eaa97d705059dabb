import Foundation
import JobqCore
import JobqProcess
import JobqStore
import JobqTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One end-to-end test's world: a private directory, a database in it, the real `jobq` to
/// drive it, the real `jobqd`s started on it, and a store connection to read the rows.
///
/// `withScenario` tears it down whatever happens: every daemon is SIGKILLed and reaped, and
/// any process group a killed daemon's jobs left behind is stopped.
final class Scenario: Sendable {
    /// The directory the test owns (removed afterwards).
    let directory: String
    /// The database every `jobq` and `jobqd` here uses.
    let database: String
    /// A reader of the database (the tests never write through it: `jobq` does).
    let store: JobStore
    private let daemons = Mutex<[JobqdProcess]>([])

    /// The options every daemon gets unless a test overrides them: short grace periods, so
    /// the suite stays fast, and debug logs for diagnostics.
    static let defaultDaemonOptions: [String: String] = [
        "--kill-grace": "200ms",
        "--drain-timeout": "10s",
        "--idle-timeout": "2s",
        "--concurrency": "2",
        "--log-level": "debug",
    ]

    init(directory: String) async throws {
        self.directory = directory
        self.database = directory + "/jobq.db"
        self.store = try await JobStore(path: database, ringsDoorbell: false)
    }

    /// The environment of every process started here: this one's, without a database, state
    /// directory or service manager of its own.
    func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["JOBQ_DB", "STATE_DIRECTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            environment[key] = nil
        }
        environment["XDG_STATE_HOME"] = directory + "/state"
        environment["NO_COLOR"] = "1"
        return environment
    }

    // MARK: jobqd

    /// Starts `jobqd --db <database>` with the default options, `options` overriding them, and
    /// `environment` added to its environment; unless `waitUntilReady` is false, waits for its `READY=1`.
    @discardableResult
    func startDaemon(
        _ options: [String: String] = [:], environment extra: [String: String] = [:], waitUntilReady: Bool = true
    ) async throws -> JobqdProcess {
        let merged = Self.defaultDaemonOptions.merging(options) { $1 }
        let arguments = ["--db", database] + merged.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
        let number = daemons.withLock { $0.count }
        let daemon = try JobqdProcess(
            arguments: arguments, environment: environment().merging(extra) { $1 },
            notifyPath: directory + "/notify-\(number).sock")
        daemons.withLock { $0.append(daemon) }
        if waitUntilReady { try await daemon.waitUntilReady() }
        return daemon
    }

    /// The logs of every daemon started here, for failure messages.
    var daemonLogs: String {
        daemons.withLock { daemons in
            daemons.enumerated().map { "--- jobqd #\($0.offset) ---\n\($0.element.log)" }.joined(separator: "\n")
        }
    }

    // MARK: jobq

    /// Runs `jobq --db <database> arguments…` to completion, in `currentDirectory` if given.
    @discardableResult
    func jobq(_ arguments: [String], in currentDirectory: String? = nil) async throws -> ProcessResult {
        try await runProcess(
            try Binaries.path(of: "jobq"), ["--db", database] + arguments, environment: environment(),
            currentDirectory: currentDirectory, timeout: .seconds(60))
    }

    /// Runs `jobq arguments…` and records an issue unless it exits 0.
    @discardableResult
    func succeed(_ arguments: [String], in currentDirectory: String? = nil) async throws -> ProcessResult {
        let result = try await jobq(arguments, in: currentDirectory)
        #expect(result.exitStatus == 0, "jobq \(arguments): \(result)")
        return result
    }

    /// `jobq add --json options… -- command…` and the new job's id.
    @discardableResult
    func add(_ command: [String], options: [String] = [], in currentDirectory: String? = nil) async throws -> JobID {
        let arguments = ["add", "--json"] + options + ["--"] + command
        let result = try await jobq(arguments, in: currentDirectory)
        guard result.exitStatus == 0,
            let document = try? JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any],
            let id = document["id"] as? Int
        else { throw HarnessError.unexpectedOutput(command: arguments, result: result.description) }
        return JobID(id)
    }

    /// `jobq add --shell` of `script` (run by `/bin/sh -c` in `currentDirectory`, default the test's directory).
    @discardableResult
    func addShell(_ script: String, options: [String] = [], in currentDirectory: String? = nil) async throws -> JobID {
        try await add([script], options: ["--shell"] + options, in: currentDirectory ?? directory)
    }

    /// `jobq show ID --json`, parsed.
    func show(_ id: JobID) async throws -> [String: Any] {
        let arguments = ["show", String(id), "--json"]
        let result = try await jobq(arguments)
        guard result.exitStatus == 0,
            let document = try? JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
        else { throw HarnessError.unexpectedOutput(command: arguments, result: result.description) }
        return document
    }

    // MARK: The database

    /// The job's row now.
    func job(_ id: JobID) async throws -> Job {
        guard let job = try await store.job(id) else {
            throw HarnessError.unexpectedOutput(command: ["show", String(id)], result: "no such job in the database")
        }
        return job
    }

    /// Polls the job's row until `condition` holds, and returns that row.
    @discardableResult
    func waitForJob(
        _ id: JobID, _ what: String, timeout: Duration = .seconds(30), until condition: (Job) -> Bool
    ) async throws -> Job {
        var last: Job?
        do {
            try await waitUntil("job \(id) \(what)", timeout: timeout, interval: .milliseconds(20)) {
                last = try await store.job(id)
                return last.map(condition) ?? false
            }
        } catch let error as WaitTimeoutError {
            throw HarnessError.timedOut(what: error.what, detail: last.map(Self.summary) ?? "no row", log: daemonLogs)
        }
        return last!
    }

    /// Waits until the job is in a terminal state, and returns its row.
    @discardableResult
    func waitUntilFinished(_ id: JobID, timeout: Duration = .seconds(30)) async throws -> Job {
        try await waitForJob(id, "to finish", timeout: timeout) { $0.state.isTerminal }
    }

    /// Waits until the job is running with its process recorded, and returns its row.
    @discardableResult
    func waitUntilRunning(_ id: JobID, timeout: Duration = .seconds(30)) async throws -> Job {
        try await waitForJob(id, "to run", timeout: timeout) { $0.state == .running && $0.process != nil }
    }

    /// Polls until `condition` holds; the timeout error carries the daemons' logs.
    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        do {
            try await waitUntil(what, timeout: timeout, interval: .milliseconds(10), condition)
        } catch let error as WaitTimeoutError {
            throw HarnessError.timedOut(what: error.what, detail: "", log: daemonLogs)
        }
    }

    /// A one-line description of a row for failure messages.
    static func summary(_ job: Job) -> String {
        "state \(job.state.rawValue), attempts \(job.attempts), failures \(job.failures), "
            + "exit code \(job.exitCode.map(String.init) ?? "none"), error \(job.error ?? "none"), "
            + "claimed \(job.claimed)"
    }

    // MARK: Files

    /// The path of `name` in the test's directory.
    func path(_ name: String) -> String { directory + "/" + name }

    /// Whether `name` exists in the test's directory.
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Creates `name` in the test's directory (a signal to a waiting job).
    func touch(_ name: String) {
        let created = FileManager.default.createFile(atPath: path(name), contents: Data())
        #expect(created, "cannot create \(path(name))")
    }

    /// The contents of `name` in the test's directory, as text (empty if it does not exist).
    func read(_ name: String) -> String {
        (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? ""
    }

    /// The pid a job wrote into `name`, once the file holds a complete line.
    func waitForPID(in name: String) async throws -> pid_t {
        var pid: pid_t?
        try await waitFor("a pid in \(name)") {
            let text = read(name)
            pid = text.hasSuffix("\n") ? pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            return pid != nil
        }
        return pid!
    }

    // MARK: Teardown

    /// SIGKILLs and reaps every daemon, then stops the process groups that jobs still marked
    /// running left behind (only if their leader is the recorded process, never a reused pid).
    func tearDown() async {
        for daemon in daemons.withLock({ $0 }) where !daemon.hasExited {
            _ = try? await daemon.kill()
        }
        for job in (try? await store.jobs(states: [.running])) ?? [] {
            guard let process = job.process else { continue }
            _ = await ProcessSupervisor.stopLeftoverGroup(
                processGroup: process.processGroup, leaderStartTime: process.startTime, grace: .milliseconds(100))
        }
    }
}

/// Runs `body` with a fresh `Scenario` and tears it down afterwards, even when `body`
/// throws; a thrown error is reported with the daemons' logs. The logs are also attached to
/// the test as `jobqd.log` (written out with `swift test --attachments-path DIR`), for failed
/// expectations that do not throw.
func withScenario(_ body: (Scenario) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        let scenario = try await Scenario(directory: directory)
        do {
            try await body(scenario)
        } catch {
            await scenario.tearDown()
            Attachment.record(scenario.daemonLogs, named: "jobqd.log")
            if error is HarnessError || error is JobqdProcessError { throw error }
            Issue.record("jobqd's logs:\n\(scenario.daemonLogs)")
            throw error
        }
        await scenario.tearDown()
        Attachment.record(scenario.daemonLogs, named: "jobqd.log")
    }
}

/// Whether process `pid` exists and has not exited (a zombie counts as exited).
func isAlive(_ pid: pid_t) -> Bool {
    ProcessStat.read(pid: pid)?.isLive ?? false
}

/// Every process visible in `/proc` now.
func allProcesses() -> [ProcessStat] {
    (ProcessStat.allPIDs() ?? []).compactMap(ProcessStat.read(pid:))
}

/// Whether no process of group `group` is still running. Zombies do not count: where pid 1
/// does not reap orphans (some containers), the exited members of a crashed daemon's job
/// stay zombies for good.
func isGroupGone(_ group: pid_t) -> Bool {
    !allProcesses().contains { $0.processGroup == group && $0.isLive }
}

/// The zombies whose parent is `pid` (processes it has not reaped).
func unreapedChildren(of pid: pid_t) -> [pid_t] {
    allProcesses().filter { $0.parentPID == pid && !$0.isLive }.map(\.pid)
}
