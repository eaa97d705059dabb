import Glibc
import JobqCore
import JobqDaemon
import JobqStore
import JobqTestSupport
import Logging
import Synchronization
import Testing

/// A dispatcher with in-process handlers on a temporary database, plus a second connection
/// playing the CLI (its writes ring the dispatcher's doorbell, as `jobq` does). Its time is
/// the real clock, or a `ManualClock` the test moves.
struct DispatcherHarness {
    let client: JobStore
    let dispatcher: Dispatcher
    let log: LogCapture
    /// The dispatcher's clock; jobs are enqueued at its time, as if client and daemon shared it.
    let clock: any DispatcherClock

    /// Runs `body` while a dispatcher runs; then stops it gracefully and waits for it to end.
    static func run(
        concurrency: Int = 2,
        capacity: Int = 8,
        idleTimeout: Duration = .seconds(10),
        drainTimeout: Duration = .seconds(30),
        clock: any DispatcherClock = ContinuousClock(),
        handler: @escaping HandlerRunner.Handler,
        _ body: (DispatcherHarness) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobq.db"
            let configuration = DaemonConfiguration(
                databasePath: path,
                defaultConcurrency: concurrency,
                defaultCapacity: capacity,
                defaultIdleTimeout: idleTimeout,
                drainTimeout: drainTimeout,
                pollInterval: .milliseconds(200))
            let log = LogCapture()
            let store = try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
            let client = try await JobStore(path: path)
            let dispatcher = Dispatcher(
                store: store,
                runner: HandlerRunner(handlers: [:], fallback: handler),
                configuration: configuration,
                doorbell: try Doorbell.Listener(databasePath: path),
                notifier: SystemdNotifier(environment: [:]),
                logger: log.logger(),
                clock: clock)
            let harness = DispatcherHarness(client: client, dispatcher: dispatcher, log: log, clock: clock)
            try await withThrowingTaskGroup { group in
                group.addTask { try await dispatcher.run() }
                do {
                    try await body(harness)
                } catch {
                    dispatcher.stop()
                    throw error
                }
                dispatcher.stop()
                try await group.waitForAll()
            }
        }
    }

    /// Enqueues `count` jobs (`true`, never run as a process here) on `queue`; `environment`
    /// is how a test's handler tells them apart.
    @discardableResult
    func enqueue(
        _ count: Int, queue: String = "q", priority: Int = 0, retries: Int = 0, backoff: Duration = .milliseconds(10),
        timeout: Duration? = nil, after dependencies: [JobID] = [], environment: [String: String] = [:]
    ) async throws -> [JobID] {
        let requests = (0..<count).map { _ in
            JobRequest(
                queue: queue, command: .argv(["true"]), workingDirectory: "/", environment: environment,
                priority: priority, timeout: timeout, retries: retries, backoff: backoff, dependencies: dependencies)
        }
        return try await client.enqueue(requests, now: clock.timestamp()).map(\.id)
    }

    func job(_ id: JobID) async throws -> Job {
        try #require(try await client.job(id))
    }

    /// Waits until `queue` has no pending or running job (asyncio's `join`).
    func join(_ queue: String = "q", timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("queue \(queue) joined", timeout: timeout) {
            try await client.unfinishedCount(queue: queue) == 0
        }
    }

    /// Waits until exactly `running` jobs of queue "q" run and `inMemory` more wait in the
    /// daemon's memory (claimed, not started): how the tests see a full buffer.
    func waitUntilHolding(running: Int, inMemory: Int) async throws {
        try await waitUntil("\(running) running, \(inMemory) in memory", timeout: .seconds(20)) {
            let runningNow = try await count(.running)
            let inMemoryNow = try await claimedUnstarted()
            return runningNow == running && inMemoryNow == inMemory
        }
    }

    /// Jobs held in the daemon's memory: claimed but not started.
    func claimedUnstarted(_ queue: String = "q") async throws -> Int {
        try await client.jobs(queue: queue, states: [.pending]).filter(\.claimed).count
    }

    func count(_ state: JobState, queue: String = "q") async throws -> Int {
        try await client.jobs(queue: queue, states: [state]).count
    }
}

/// The test suites' manual clock drives the dispatcher's time too.
extension ManualClock: DispatcherClock {}

/// Counts handlers running at once and the highest count seen.
final class Concurrency: Sendable {
    private let state = Mutex<(now: Int, peak: Int)>((0, 0))

    func enter() {
        state.withLock {
            $0.now += 1
            $0.peak = max($0.peak, $0.now)
        }
    }
    func leave() { state.withLock { $0.now -= 1 } }
    var now: Int { state.withLock { $0.now } }
    var peak: Int { state.withLock { $0.peak } }
}
