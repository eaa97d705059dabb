import BenchmarkSupport
import JobqCore
import JobqDaemon
import JobqSQLite
import JobqStore
import JobqTestSupport
import Logging
import RawSQLiteBaseline
import Synchronization

/// Durable no-op jobs through the library path: jobs batch-enqueued into a fresh database, then
/// a `Dispatcher` with a `HandlerRunner` whose handler does nothing claims, starts and finishes
/// them (group-committed) until none is unfinished. Timed from the dispatcher's start to the
/// last commit; the enqueue is not timed, as in the baseline.
///
/// The baseline does the same transitions with bare statements on the same schema and pragmas:
/// `jobq-store-bench`'s raw pipeline (claim 500 with the store's `UPDATE … RETURNING`, one
/// transaction to start them, one to finish them).
enum Throughput {
    static let queue = "bench"
    static let batch = 500

    struct Result {
        /// Median jobs/s of the raw pipeline.
        var raw: Double
        /// Median jobs/s of the library path, per pool shape (the default first).
        var library: [(shape: PoolShape, rate: Double)]
    }

    /// `rounds` rounds, each running the raw pipeline and then every shape, so that the machine's
    /// load hits them alike.
    static func run(jobs: Int, rounds: Int, shapes: [PoolShape]) async throws -> Result {
        var raw: [Double] = []
        var library = [[Double]](repeating: [], count: shapes.count)
        for round in 1...rounds {
            raw.append(try await rawPipeline(jobs: jobs))
            progress("throughput round \(round)/\(rounds): raw SQLite \(Stats.fixed(raw.last!, decimals: 0)) jobs/s")
            for (index, shape) in shapes.enumerated() {
                library[index].append(try await libraryPath(jobs: jobs, shape: shape))
                progress(
                    "throughput round \(round)/\(rounds): library, \(shape) "
                        + "\(Stats.fixed(library[index].last!, decimals: 0)) jobs/s")
            }
        }
        return Result(
            raw: Stats.median(raw), library: zip(shapes, library.map(Stats.median)).map { ($0, $1) })
    }

    /// Enqueues `jobs` argv jobs in batches of 500, as a client would (`jobq add --batch`).
    static func fill(_ path: String, jobs: Int) async throws {
        let store = try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
        var next = 0
        while next < jobs {
            let count = min(batch, jobs - next)
            _ = try await store.enqueue(
                (0..<count).map { _ in JobRequest(queue: queue, command: .argv(["true"]), workingDirectory: "/") })
            next += count
        }
    }

    static func libraryPath(jobs: Int, shape: PoolShape) async throws -> Double {
        try await withTemporaryDirectory { directory in
            let path = directory + "/library.db"
            try await fill(path, jobs: jobs)
            // The last handler says so: no polling task competes with the dispatcher for the CPU.
            let handled = Atomic<Int>(0)
            let (allHandled, lastHandled) = AsyncStream.makeStream(of: Void.self)
            let store = try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
            let client = try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
            let dispatcher = Dispatcher(
                store: store,
                runner: HandlerRunner(handlers: [
                    queue: { _ in
                        if handled.add(1, ordering: .relaxed).newValue == jobs { lastHandled.finish() }
                    }
                ]),
                configuration: DaemonConfiguration(
                    databasePath: path, defaultConcurrency: shape.concurrency, defaultCapacity: shape.capacity),
                doorbell: nil,
                notifier: SystemdNotifier(environment: [:]),
                logger: quietLogger)
            let clock = ContinuousClock()
            let start = clock.now
            let elapsed = try await withThrowingTaskGroup { group in
                group.addTask { try await dispatcher.run() }
                do {
                    // Every handler has run; then only the last finish commits are outstanding.
                    try await withThrowingTaskGroup { waiting in
                        waiting.addTask { for await _ in allHandled {} }
                        waiting.addTask {
                            try await Task.sleep(for: .seconds(300))
                            throw BenchmarkError("library path: not all \(jobs) handlers ran within 300 s")
                        }
                        try await waiting.next()
                        waiting.cancelAll()
                    }
                    try await waitUntil("\(jobs) jobs finished", timeout: .seconds(60), interval: .microseconds(200)) {
                        try await client.unfinishedCount(queue: queue) == 0
                    }
                } catch {
                    dispatcher.stop()
                    throw error
                }
                let elapsed = clock.now - start
                dispatcher.stop()
                try await group.waitForAll()
                return elapsed
            }
            let succeeded = try await client.queueStats(queue: queue).first?.succeeded ?? 0
            guard succeeded == jobs else {
                throw BenchmarkError("library path: \(succeeded) of \(jobs) jobs succeeded")
            }
            return Stats.rate(count: jobs, in: elapsed)
        }
    }

    static func rawPipeline(jobs: Int) async throws -> Double {
        try await withTemporaryDirectory { directory in
            let path = directory + "/raw.db"
            try await fill(path, jobs: jobs)
            let connection = try RawProtocol.connection(path: path, synchronousFull: false)
            let clock = ContinuousClock()
            let start = clock.now
            try RawProtocol.claimStartFinish(connection, queue: queue, batch: batch, jobs: jobs)
            return Stats.rate(count: jobs, in: clock.now - start)
        }
    }
}
