import Foundation
import JobqCore
import JobqSQLite
import JobqStore
import JobqTestSupport
import Synchronization
import Testing

extension TemporaryDirectory {
    /// The database file the store tests use.
    var databasePath: String { path + "/jobq.db" }
}

/// A switchable failure seam: set `code` to make matching steps (or the commit) fail.
final class FaultSwitch: Sendable {
    private struct State {
        var code: Int32?
        var onlyStepsStartingWith: String?
        var onCommit = false
        var skip = 0
        var times = Int.max
    }

    private let state = Mutex(State())

    /// Makes steps whose SQL starts with `prefix` fail with `code`: after `skip` successful ones,
    /// `times` times.
    func failSteps(startingWith prefix: String, with code: Int32, skip: Int = 0, times: Int = .max) {
        state.withLock {
            $0 = State(code: code, onlyStepsStartingWith: prefix, onCommit: false, skip: skip, times: times)
        }
    }

    /// Makes every commit fail with `code`.
    func failCommits(with code: Int32) {
        state.withLock { $0 = State(code: code, onlyStepsStartingWith: nil, onCommit: true) }
    }

    func clear() {
        state.withLock { $0 = State() }
    }

    var faults: SQLiteFaults {
        SQLiteFaults { [self] point in
            self.state.withLock { state in
                guard let code = state.code else { return nil }
                switch point {
                case .commit:
                    return state.onCommit ? code : nil
                case .step(let sql):
                    guard let prefix = state.onlyStepsStartingWith, sql.hasPrefix(prefix) else { return nil }
                    if state.skip > 0 {
                        state.skip -= 1
                        return nil
                    }
                    guard state.times > 0 else { return nil }
                    state.times -= 1
                    return code
                }
            }
        }
    }
}

/// A job request with test defaults.
func request(
    _ tag: String = "job", queue: String = "default", priority: Int = 0, notBefore: Timestamp? = nil,
    retries: Int = 0, backoff: Duration = .seconds(1), after dependencies: [JobID] = []
) -> JobRequest {
    JobRequest(
        queue: queue, command: .argv(["echo", tag]), workingDirectory: "/tmp", priority: priority,
        notBefore: notBefore, retries: retries, backoff: backoff, dependencies: dependencies)
}

/// A fixed instant, so tests never depend on the clock.
let t0 = Timestamp(milliseconds: 1_700_000_000_000)

extension Timestamp {
    static func + (lhs: Timestamp, rhs: Int64) -> Timestamp {
        Timestamp(milliseconds: lhs.milliseconds + rhs)
    }
}

extension JobStore {
    /// Claims and starts up to `limit` jobs of `queue` at `now`.
    func start(queue: String = "default", limit: Int = 100, now: Timestamp) throws -> [ClaimedJob] {
        let claimed = try claim(queue: queue, limit: limit, now: now)
        let started = try markRunning(claimed.map { ($0.id, $0.attempt, now, nil) })
        return claimed.filter { started.contains($0.id) }
    }

    func finish(_ job: ClaimedJob, _ outcome: JobOutcome, at now: Timestamp) throws -> JobState? {
        try finish([JobResult(id: job.id, attempt: job.attempt, outcome: outcome, finishedAt: now)])[job.id]
    }
}

/// A raw connection to inspect or tamper with the database behind the store's back. Confined
/// to the test's task; each call is short.
func withRawConnection<T>(_ path: String, _ body: (Connection) throws -> T) throws -> T {
    let connection = try Connection(path: path)
    return try body(connection)
}

/// Where `swift build` put the executables (the fixture helper among them).
var binaryDirectory: String {
    if let directory = ProcessInfo.processInfo.environment["JOBQ_BIN_DIR"], !directory.isEmpty { return directory }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return executable.deletingLastPathComponent().path
}

/// Runs the fixture helper with `arguments`; returns the process (already running).
func launchFixture(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binaryDirectory + "/jobq-store-fixture")
    process.arguments = arguments
    try process.run()
    return process
}

/// Waits for a child process to exit, with a deadline; returns its status or `nil` on timeout.
func waitForExit(_ process: Process, timeout: Duration = .seconds(60)) async -> Int32? {
    do {
        try await waitUntil("process \(process.processIdentifier) to exit", timeout: timeout) { !process.isRunning }
    } catch {
        return nil
    }
    return process.terminationStatus
}
