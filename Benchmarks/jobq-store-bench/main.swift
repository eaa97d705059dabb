// Store throughput and latency, each next to a raw-SQLite baseline doing the same work with
// plain prepared statements and the same pragmas, medians of several runs.
//
//   swift run -c release jobq-store-bench [--runs N] [--quick] [--dir DIR] [--only SECTION]
//
// --quick shrinks every size (for a smoke test of the benchmark itself; the figures mean little).
import BenchmarkSupport
import JobqCore
import JobqSQLite
import JobqStore
import RawSQLiteBaseline

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Options

struct Options {
    var runs = 5
    var quick = false
    var baseDirectory = "/tmp"
    var only: String?

    static func parse() -> Options {
        var options = Options()
        var index = 1
        let arguments = CommandLine.arguments
        while index < arguments.count {
            switch arguments[index] {
            case "--runs" where index + 1 < arguments.count:
                index += 1
                options.runs = max(1, Int(arguments[index]) ?? options.runs)
            case "--quick": options.quick = true
            case "--only" where index + 1 < arguments.count:
                index += 1
                options.only = arguments[index]
            case "--dir" where index + 1 < arguments.count:
                index += 1
                options.baseDirectory = arguments[index]
            default:
                print(
                    "usage: jobq-store-bench [--runs N] [--quick] [--dir DIR] "
                        + "[--only enqueue|protocol|ceiling|latency|claim]")
                exit(64)
            }
            index += 1
        }
        return options
    }
}

let options = Options.parse()
let runs = options.runs
let quick = options.quick
let baseDirectory = options.baseDirectory

func selected(_ name: String) -> Bool { options.only == nil || options.only == name }
let batchSize = 500
let enqueueRows = quick ? 5_000 : 50_000
let protocolJobs = quick ? 5_000 : 50_000
let singleEnqueues = quick ? 50 : 300
let bigBacklog = quick ? 20_000 : 1_000_000
let claimSamples = quick ? 200 : 2_000

// MARK: - Helpers

func makeDirectory() -> String {
    var template = Array("\(baseDirectory)/jobq-store-bench.XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else {
        print("cannot create a directory in \(baseDirectory)")
        exit(1)
    }
    return String(cString: created)
}

func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm", ".lock", ".sock"] { unlink(path + suffix) }
}

func seconds(_ duration: Duration) -> Double { duration.seconds }

func format(_ value: Double) -> String {
    if value >= 100 { return String(Int(value.rounded())) }
    let scaled = (value * 100).rounded() / 100
    return "\(scaled)"
}

func rate(_ count: Int, _ elapsed: Duration) -> Double { Double(count) / seconds(elapsed) }

func requests(_ range: Range<Int>, queue: String = "bench") -> [JobRequest] {
    range.map { JobRequest(queue: queue, command: .argv(["echo", "job-\($0)"]), workingDirectory: "/tmp") }
}

let insertSQL = """
    INSERT INTO jobs (queue, state, priority, argv, shell, cwd, env, run_at, timeout_ms, max_retries,
                      backoff_ms, enqueued_at, unmet_deps, error, finished_at)
    VALUES (?1, 'pending', 0, ?2, NULL, '/tmp', '{}', ?3, NULL, 0, 1000, ?3, 0, NULL, NULL)
    """

func rawInsert(_ connection: Connection, _ range: Range<Int>, queue: String = "bench") throws {
    let now = Timestamp.now().milliseconds
    try connection.writeTransaction {
        let statement = try connection.prepare(insertSQL)
        for index in range {
            statement.reset()
            try statement.bind(queue, at: 1)
            try statement.bind("[\"echo\",\"job-\(index)\"]", at: 2)
            try statement.bind(now, at: 3)
            try statement.run()
        }
    }
}

func ensureQueue(_ connection: Connection, _ queue: String) throws {
    try connection.execute("INSERT OR IGNORE INTO queues (name, created_at) VALUES ('\(queue)', 0)")
}

// MARK: - Benchmarks

let directory = makeDirectory()
defer { rmdir(directory) }
print("jobq-store-bench: \(runs) runs each, medians; batch \(batchSize)")
print("\(Machine.current), SQLite \(SQLiteVersion.text), files in \(baseDirectory)")
print("")

/// Batch enqueue through JobStore.
func storeEnqueue(durability: Durability) async throws -> Double {
    let path = directory + "/enqueue.db"
    removeDatabase(path)
    defer { removeDatabase(path) }
    let store = try await JobStore(path: path, durability: durability)
    let clock = ContinuousClock()
    let start = clock.now
    var next = 0
    while next < enqueueRows {
        _ = try await store.enqueue(requests(next..<min(next + batchSize, enqueueRows)))
        next += batchSize
    }
    return rate(enqueueRows, clock.now - start)
}

/// The same rows with a plain prepared INSERT, 500 per transaction, same schema and pragmas.
func rawEnqueue(durability: Durability) async throws -> Double {
    let path = directory + "/enqueue-raw.db"
    removeDatabase(path)
    defer { removeDatabase(path) }
    do { _ = try await JobStore(path: path) }  // the same schema
    let connection = try RawProtocol.connection(path: path, synchronousFull: durability == .full)
    try ensureQueue(connection, "bench")
    let clock = ContinuousClock()
    let start = clock.now
    var next = 0
    while next < enqueueRows {
        try rawInsert(connection, next..<min(next + batchSize, enqueueRows))
        next += batchSize
    }
    return rate(enqueueRows, clock.now - start)
}

/// µs per job spent in claim, markRunning and finish, per run.
nonisolated(unsafe) var protocolPhases: [[Double]] = []

/// claim + markRunning + finish(succeeded), `batch` jobs per transaction, through JobStore
/// (daemon durability). `withoutStateIndex` drops `jobs_queue_state` first: what that index
/// (the per-state counts of `jobq status` and `queue_stats`) costs each transition.
func storeProtocol(batch: Int = batchSize, withoutStateIndex: Bool = false) async throws -> Double {
    let path = directory + "/protocol.db"
    removeDatabase(path)
    defer { removeDatabase(path) }
    let store = try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
    if withoutStateIndex {
        try Connection(path: path).execute("DROP INDEX jobs_queue_state")
    }
    var next = 0
    while next < protocolJobs {
        _ = try await store.enqueue(requests(next..<min(next + batchSize, protocolJobs)))
        next += batchSize
    }
    let clock = ContinuousClock()
    let start = clock.now
    var done = 0
    var phases: [Duration] = [.zero, .zero, .zero]
    while done < protocolJobs {
        let now = Timestamp.now()
        let t0 = clock.now
        let claimed = try await store.claim(queue: "bench", limit: batch, now: now)
        let t1 = clock.now
        let started = try await store.markRunning(claimed.map { ($0.id, $0.attempt, now, nil) })
        let t2 = clock.now
        let results = claimed.filter { started.contains($0.id) }.map {
            JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, finishedAt: now)
        }
        done += try await store.finish(results).count
        phases[0] += t1 - t0
        phases[1] += t2 - t1
        phases[2] += clock.now - t2
    }
    if batch == batchSize && !withoutStateIndex {
        protocolPhases.append(phases.map { seconds($0) * 1_000_000 / Double(protocolJobs) })
    }
    return rate(protocolJobs, clock.now - start)
}

/// The same three steps with plain statements: claim (the same UPDATE … RETURNING), start, complete.
func rawProtocol() async throws -> Double {
    let path = directory + "/protocol-raw.db"
    removeDatabase(path)
    defer { removeDatabase(path) }
    do { _ = try await JobStore(path: path) }
    let connection = try RawProtocol.connection(path: path, synchronousFull: false)
    try ensureQueue(connection, "bench")
    var next = 0
    while next < protocolJobs {
        try rawInsert(connection, next..<min(next + batchSize, protocolJobs))
        next += batchSize
    }
    let clock = ContinuousClock()
    let start = clock.now
    try RawProtocol.claimStartFinish(connection, queue: "bench", batch: batchSize, jobs: protocolJobs)
    return rate(protocolJobs, clock.now - start)
}

/// Latencies (ms) of single-job durable enqueues (`jobq add`), through JobStore and raw.
func singleEnqueueLatencies() async throws -> (store: [Double], raw: [Double]) {
    let path = directory + "/single.db"
    removeDatabase(path)
    defer { removeDatabase(path) }
    let store = try await JobStore(path: path, durability: .full)
    let clock = ContinuousClock()
    var storeTimes: [Double] = []
    for index in 0..<singleEnqueues {
        let start = clock.now
        _ = try await store.enqueue(requests(index..<index + 1))
        storeTimes.append(seconds(clock.now - start) * 1000)
    }
    let connection = try RawProtocol.connection(path: path, synchronousFull: true)
    var rawTimes: [Double] = []
    for index in 0..<singleEnqueues {
        let start = clock.now
        try rawInsert(connection, index..<index + 1)
        rawTimes.append(seconds(clock.now - start) * 1000)
    }
    return (storeTimes, rawTimes)
}

/// Median latency (µs) of `claim(limit: 1)` on a queue with `backlog` due jobs (the backlog stays
/// about the same: each sample claims one job out of it).
func claimLatency(path: String, store: JobStore) async throws -> Double {
    let clock = ContinuousClock()
    var times: [Double] = []
    for _ in 0..<claimSamples {
        let now = Timestamp.now()
        let start = clock.now
        let claimed = try await store.claim(queue: "bench", limit: 1, now: now)
        times.append(seconds(clock.now - start) * 1_000_000)
        precondition(claimed.count == 1)
    }
    return Stats.median(times)
}

func fill(_ path: String, count: Int) async throws -> JobStore {
    removeDatabase(path)
    do { _ = try await JobStore(path: path) }
    let connection = try RawProtocol.connection(path: path, synchronousFull: false)
    try ensureQueue(connection, "bench")
    var next = 0
    while next < count {
        try rawInsert(connection, next..<min(next + 10_000, count))
        next += 10_000
    }
    try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return try await JobStore(path: path, durability: .normal, ringsDoorbell: false)
}

// MARK: - Run

/// Runs `store` and `raw` alternately `runs` times (so both see the same machine load) and
/// returns their medians.
func measurePair(
    _ store: () async throws -> Double, _ raw: () async throws -> Double
) async throws -> (store: Double, raw: Double) {
    var storeValues: [Double] = []
    var rawValues: [Double] = []
    for _ in 0..<runs {
        storeValues.append(try await store())
        rawValues.append(try await raw())
    }
    return (Stats.median(storeValues), Stats.median(rawValues))
}

func percent(_ part: Double, _ whole: Double) -> String { "\(Int((part / whole * 100).rounded()))%" }

print("| measurement | jobq store | raw SQLite | store / raw |")
print("|---|---|---|---|")
if selected("enqueue") {
    for durability in [Durability.full, .normal] {
        let name = durability == .full ? "FULL" : "NORMAL"
        let (store, raw) = try await measurePair(
            { try await storeEnqueue(durability: durability) }, { try await rawEnqueue(durability: durability) })
        print(
            "| batch enqueue, synchronous=\(name) (rows/s) | \(format(store)) | \(format(raw)) | \(percent(store, raw)) |"
        )
    }
}
if selected("protocol") {
    let (store, raw) = try await measurePair({ try await storeProtocol() }, { try await rawProtocol() })
    let phases = (0..<3).map { phase in format(Stats.median(protocolPhases.map { $0[phase] })) }
    print(
        "| claim + markRunning + finish, batches of \(batchSize) (jobs/s) | \(format(store)) "
            + "(µs/job: claim \(phases[0]), start \(phases[1]), finish \(phases[2])) | \(format(raw)) | \(percent(store, raw)) |"
    )
}
if selected("ceiling") {
    // The daemon's store thread does these same statements; its commits hold as many transitions
    // as its consumers submit meanwhile (about 30 starts and 30 finishes at concurrency 64), so
    // this is what its SQL alone allows at each commit size, and what the state index costs.
    for (batch, withoutStateIndex) in [(32, false), (128, false), (500, false), (32, true), (500, true)] {
        let (store, raw) = try await measurePair(
            { try await storeProtocol(batch: batch, withoutStateIndex: withoutStateIndex) },
            { try await rawProtocol() })
        let variant = withoutStateIndex ? ", without the jobs_queue_state index" : ""
        print(
            "| claim + markRunning + finish, \(batch) jobs per transaction\(variant) (jobs/s) | \(format(store)) "
                + "| \(format(raw)) | \(percent(store, raw)) |")
    }
}
if selected("latency") {
    var storeP50: [Double] = []
    var storeP99: [Double] = []
    var rawP50: [Double] = []
    var rawP99: [Double] = []
    for _ in 0..<runs {
        let latencies = try await singleEnqueueLatencies()
        storeP50.append(Stats.percentile(latencies.store, 0.5))
        storeP99.append(Stats.percentile(latencies.store, 0.99))
        rawP50.append(Stats.percentile(latencies.raw, 0.5))
        rawP99.append(Stats.percentile(latencies.raw, 0.99))
    }
    print(
        "| single durable enqueue, synchronous=FULL, p50 / p99 (ms) | \(format(Stats.median(storeP50))) / "
            + "\(format(Stats.median(storeP99))) | \(format(Stats.median(rawP50))) / \(format(Stats.median(rawP99))) | |"
    )
}
if selected("claim") {
    let smallPath = directory + "/small.db"
    let bigPath = directory + "/big.db"
    var small: [Double] = []
    var big: [Double] = []
    do {
        let bigStore = try await fill(bigPath, count: bigBacklog)
        let smallStore = try await fill(smallPath, count: claimSamples * runs)
        for _ in 0..<runs {
            small.append(try await claimLatency(path: smallPath, store: smallStore))
            big.append(try await claimLatency(path: bigPath, store: bigStore))
        }
    }
    removeDatabase(smallPath)
    removeDatabase(bigPath)
    let ratio = Stats.median(big) / Stats.median(small)
    print(
        "| claim(limit: 1) median latency, \(bigBacklog) pending vs. \(claimSamples * runs) pending (µs) "
            + "| \(format(Stats.median(big))) vs. \(format(Stats.median(small))) = \(format(ratio))× | | |"
    )
}
