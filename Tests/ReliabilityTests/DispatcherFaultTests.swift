import CSQLite
import JobqCore
import JobqDaemon
import JobqStore
import JobqTestSupport
import Logging
import Synchronization
import Testing

/// SQLite faults that a real disk rarely produces on demand (full, I/O error, lock storms),
/// injected through the store's failure seam under the daemon library running in-process
/// handlers. The daemon must keep running, report the fault, mark nothing succeeded that did
/// not run, lose nothing committed, and carry on when the fault clears.
@Suite("daemon library under injected SQLite faults")
struct DispatcherFaultTests {
    /// (what fails, the SQLite result code)
    static let faults: [(Fault, Int32)] = [
        (.everyCommit, SQLITE_FULL),
        (.everyCommit, SQLITE_IOERR | (3 << 8)),  // SQLITE_IOERR_WRITE
        (.results, SQLITE_FULL),
        (.results, SQLITE_IOERR | (4 << 8)),  // SQLITE_IOERR_FSYNC
        (.starts, SQLITE_IOERR),
        (.claims, SQLITE_FULL),
    ]

    enum Fault: String, CustomStringConvertible {
        /// Every write transaction fails at its commit.
        case everyCommit
        /// Recording results fails: the jobs ran, their outcome cannot be written.
        case results
        /// Marking jobs running fails: nothing may start.
        case starts
        /// Claiming fails: nothing enters memory.
        case claims

        var description: String { rawValue }
    }

    @Test(
        "the fault is reported, nothing is marked succeeded that did not run, all jobs run once after it clears",
        arguments: faults)
    func faultThenRecovery(fault: Fault, code: Int32) async throws {
        try await withTemporaryDirectory { directory in
            let injector = FaultInjector()
            let store = try await JobStore(
                path: directory + "/jobq.db", busyTimeout: .milliseconds(200), faults: injector.seam)
            let request = JobRequest(queue: "work", command: .argv(["true"]), workingDirectory: "/")
            let ids = try await store.enqueue(Array(repeating: request, count: 40)).map(\.id)
            let runs = RunCounter()
            // The first jobs wait until the fault is on, so that it strikes while work is in flight.
            let faultIsOn = Gate()
            let (dispatcher, logs) = makeDispatcher(store: store) { job in
                runs.record(job.id)
                await faultIsOn.wait()
            }
            let running = Task { try await dispatcher.run() }
            defer { running.cancel() }

            try await waitUntil("jobs to start", timeout: .seconds(30)) { runs.total > 0 }
            switch fault {
            case .everyCommit: injector.failCommits(with: code)
            case .results: injector.failSteps(startingWith: "UPDATE jobs SET state = 'succeeded'", with: code)
            case .starts: injector.failSteps(startingWith: "UPDATE jobs SET state = 'running'", with: code)
            case .claims: injector.failSteps(startingWith: "UPDATE jobs SET claimed = 1", with: code)
            }
            faultIsOn.open()
            try await waitUntil("the fault to strike a few times", timeout: .seconds(30)) { injector.injected >= 3 }
            #expect(logs.errors.contains { $0.contains("retrying") }, "\(logs.errors)")
            // Whatever is marked succeeded now really ran.
            let succeededDuringFault = try await store.jobs(states: [.succeeded]).map(\.id)
            #expect(succeededDuringFault.allSatisfy { runs.count(of: $0) >= 1 })

            injector.clear()
            try await waitUntil("every job to succeed", timeout: .seconds(60), interval: .milliseconds(20)) {
                try await store.jobs(states: [.succeeded]).count == ids.count
            }
            dispatcher.stop()
            try await running.value
            #expect(ids.allSatisfy { runs.count(of: $0) == 1 }, "runs: \(runs.snapshot)")
            #expect(try await store.jobs().allSatisfy { $0.attempts == 1 })
        }
    }

    @Test("a storm of busy answers shorter than the busy timeout is invisible: every job runs once")
    func busyStorm() async throws {
        try await withTemporaryDirectory { directory in
            let injector = FaultInjector()
            let store = try await JobStore(
                path: directory + "/jobq.db", busyTimeout: .seconds(5), faults: injector.seam)
            let request = JobRequest(queue: "work", command: .argv(["true"]), workingDirectory: "/")
            let ids = try await store.enqueue(Array(repeating: request, count: 100)).map(\.id)
            injector.failSteps(startingWith: "BEGIN IMMEDIATE", with: SQLITE_BUSY, times: 2_000)
            let runs = RunCounter()
            let (dispatcher, logs) = makeDispatcher(store: store) { job in runs.record(job.id) }
            let running = Task { try await dispatcher.run() }
            defer { running.cancel() }
            try await waitUntil("every job to succeed", timeout: .seconds(60), interval: .milliseconds(20)) {
                try await store.jobs(states: [.succeeded]).count == ids.count
            }
            dispatcher.stop()
            try await running.value
            #expect(injector.injected > 0)
            #expect(ids.allSatisfy { runs.count(of: $0) == 1 }, "runs: \(runs.snapshot)")
            #expect(logs.errors.isEmpty, "\(logs.errors)")
        }
    }

    private func makeDispatcher(
        store: JobStore, handler: @escaping HandlerRunner.Handler
    ) -> (Dispatcher, LogCapture) {
        let logs = LogCapture()
        let configuration = DaemonConfiguration(
            databasePath: store.path, defaultConcurrency: 4, pollInterval: .milliseconds(50))
        let dispatcher = Dispatcher(
            store: store, runner: HandlerRunner(handlers: [:], fallback: handler), configuration: configuration,
            doorbell: nil, notifier: SystemdNotifier(environment: [:]), logger: logs.logger(level: .error))
        return (dispatcher, logs)
    }
}

/// How often each job's handler ran.
final class RunCounter: Sendable {
    private let counts = Mutex<[JobID: Int]>([:])

    func record(_ id: JobID) { counts.withLock { $0[id, default: 0] += 1 } }
    func count(of id: JobID) -> Int { counts.withLock { $0[id] ?? 0 } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
    var snapshot: [JobID: Int] { counts.withLock { $0 } }
}
