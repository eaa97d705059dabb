import BenchmarkSupport
import JobqCore
import JobqSQLite
import JobqStore
import JobqTestSupport

/// `jobqd`'s resident memory (VmRSS): idle a second after it starts, then while a backlog of
/// `pending` jobs is enqueued (sampled after every batch) and once it is all in, in a queue of
/// concurrency 1 whose only consumer is held by a job that blocks (`sleep`). Only up to the
/// queue's capacity of jobs may be in memory, so the figure must stay flat whatever the backlog.
enum Memory {
    static let queue = "memory"
    static let batch = 10_000

    /// KiB.
    struct Result {
        var idle: Int
        /// VmRSS a few seconds after the whole backlog was enqueued.
        var loaded: Int
        /// The highest VmRSS sampled while enqueuing and after.
        var peak: Int
        /// The kernel's own high-water mark (VmHWM) at the end.
        var highWater: Int
        /// Jobs buffered in the daemon's memory at the end (claimed, not started).
        var buffered: Int
    }

    static func run(jobqd executable: String, pending: Int) async throws -> Result {
        try await withTemporaryDirectory { directory in
            let path = directory + "/memory.db"
            let client = try await JobStore(path: path)
            try await client.updateQueue(queue, concurrency: .some(1))
            let daemon = try await Jobqd.start(
                executable, databasePath: path, arguments: ["--drain-timeout", "100ms", "--kill-grace", "100ms"])
            do {
                let result = try await measure(daemon, client: client, pending: pending)
                await daemon.stop()
                return result
            } catch {
                await daemon.stop()
                throw error
            }
        }
    }

    private static func measure(_ daemon: Jobqd, client: JobStore, pending: Int) async throws -> Result {
        try await Task.sleep(for: .seconds(1))
        let idle = try daemon.status("VmRSS")
        let blocker = try await client.enqueue([
            JobRequest(queue: queue, command: .argv(["/bin/sleep", "3600"]), workingDirectory: "/")
        ])[0].id
        try await waitUntil("the blocking job to run", timeout: .seconds(30)) {
            try await client.job(blocker)?.state == .running
        }
        var peak = try daemon.status("VmRSS")
        var next = 0
        let request = JobRequest(queue: queue, command: .argv(["/bin/true"]), workingDirectory: "/")
        while next < pending {
            let count = min(batch, pending - next)
            _ = try await client.enqueue(Array(repeating: request, count: count))
            next += count
            peak = max(peak, try daemon.status("VmRSS"))
        }
        // Let the daemon notice the last batches and fill its buffer.
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(500))
            peak = max(peak, try daemon.status("VmRSS"))
        }
        let loaded = try daemon.status("VmRSS")
        let stats = try await client.queueStats(queue: queue).first
        guard let stats, stats.pending == pending, stats.running == 1 else {
            throw BenchmarkError(
                "memory: expected \(pending) pending and 1 running, found \(stats?.pending ?? 0) and \(stats?.running ?? 0)"
            )
        }
        let buffered = try Connection(path: client.path).scalar(
            "SELECT count(*) FROM jobs WHERE queue = '\(queue)' AND state = 'pending' AND claimed = 1")
        return Result(
            idle: idle, loaded: loaded, peak: max(peak, loaded), highWater: try daemon.status("VmHWM"),
            buffered: Int(buffered ?? 0))
    }

    /// VmRSS after each of `rounds` bursts of `queues` one-job queues, each measured once the
    /// burst's jobs are done and its queues' workers have idled out (`--idle-timeout 1s`): what a
    /// daemon keeps after queues that come and go. KiB, one figure per round.
    static func afterQueueBursts(jobqd executable: String, queues: Int, rounds: Int) async throws -> [Int] {
        try await withTemporaryDirectory { directory in
            let path = directory + "/queues.db"
            let client = try await JobStore(path: path)
            let daemon = try await Jobqd.start(executable, databasePath: path, arguments: ["--idle-timeout", "1s"])
            do {
                var figures: [Int] = []
                for round in 1...rounds {
                    _ = try await client.enqueue(
                        (0..<queues).map { index in
                            JobRequest(
                                queue: "burst\(round)-\(index)", command: .argv(["/bin/true"]), workingDirectory: "/")
                        })
                    try await waitUntil("burst \(round) done", timeout: .seconds(300), interval: .milliseconds(50)) {
                        try await client.unfinishedCount() == 0
                    }
                    // Twice the idle timeout: every worker of the burst has ended.
                    try await Task.sleep(for: .seconds(2.5))
                    figures.append(try daemon.status("VmRSS"))
                }
                await daemon.stop()
                return figures
            } catch {
                await daemon.stop()
                throw error
            }
        }
    }
}
