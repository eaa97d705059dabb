import JobqCore
import JobqStore
import JobqTestSupport

/// Enqueue → process start through a real `jobqd`: a client `JobStore` (what `jobq add` does:
/// synchronous=FULL, then a doorbell ring) enqueues a probe program (`/bin/date +%s%N`, or the
/// tiny static one `scripts/bench-jobqd` compiles); the job prints the wall-clock time at which
/// it runs, which `jobqd` keeps as the job's stdout. The latency is
/// that time minus the time the enqueue call returned (the commit) or began, on the same
/// `CLOCK_REALTIME`. Jobs are spaced out: the next is enqueued after the previous finished.
///
/// It includes the probe's own exec and start-up, so each sample is paired with the floor: the
/// same program spawned directly by this process (`posix_spawn`, stdout on a pipe).
enum DaemonLatency {
    static let queue = "latency"
    static let warmUp = 10

    /// Milliseconds per sample.
    struct Samples {
        var fromCommit: [Double] = []
        var fromCall: [Double] = []
        /// Spawning the program directly: from before `posix_spawn` to its printed time.
        var direct: [Double] = []
    }

    /// - Parameter otherQueues: first runs that many one-job queues through the daemon (started
    ///   with `--idle-timeout 1s`) and lets their workers idle out: what a daemon whose database
    ///   has seen many queue names pays on every enqueue.
    static func run(
        jobqd executable: String, probe: [String], samples count: Int, otherQueues: Int = 0
    ) async throws -> Samples {
        try await withTemporaryDirectory { directory in
            let path = directory + "/jobqd.db"
            let client = try await JobStore(path: path)
            let daemon = try await Jobqd.start(
                executable, databasePath: path, arguments: otherQueues > 0 ? ["--idle-timeout", "1s"] : [])
            do {
                if otherQueues > 0 {
                    _ = try await client.enqueue(
                        (0..<otherQueues).map { index in
                            JobRequest(queue: "other-\(index)", command: .argv(["/bin/true"]), workingDirectory: "/")
                        })
                    try await waitUntil(
                        "the other queues' jobs done", timeout: .seconds(300), interval: .milliseconds(50)
                    ) {
                        try await client.unfinishedCount() == 0
                    }
                    try await Task.sleep(for: .seconds(3))
                }
                let samples = try await measure(count, probe: probe, client: client)
                await daemon.stop()
                return samples
            } catch {
                await daemon.stop()
                throw error
            }
        }
    }

    private static func measure(_ count: Int, probe program: [String], client: JobStore) async throws -> Samples {
        var samples = Samples()
        let request = JobRequest(queue: queue, command: .argv(program), workingDirectory: "/")
        for index in 0..<(warmUp + count) {
            let beforeCall = realtimeNanoseconds()
            let id = try await client.enqueue([request])[0].id
            let committed = realtimeNanoseconds()
            var finished: Job?
            try await waitUntil("job \(id) finished", timeout: .seconds(30), interval: .milliseconds(2)) {
                finished = try await client.job(id)
                return finished?.state.isTerminal == true
            }
            guard let finished, finished.state == .succeeded, let ran = printedTime(finished.stdout) else {
                throw BenchmarkError(
                    "jobqd latency: job \(id) ended \(finished?.state.rawValue ?? "?"): \(finished?.error ?? "")")
            }
            let beforeSpawn = realtimeNanoseconds()
            guard let spawned = printedTime(Array(try spawnAndRead(program).utf8)) else {
                throw BenchmarkError("jobqd latency: \(program.joined(separator: " ")) printed no time")
            }
            guard index >= warmUp else { continue }
            samples.fromCommit.append(Double(ran - committed) / 1e6)
            samples.fromCall.append(Double(ran - beforeCall) / 1e6)
            samples.direct.append(Double(spawned - beforeSpawn) / 1e6)
        }
        return samples
    }

    /// The nanoseconds the probe printed.
    private static func printedTime(_ output: [UInt8]) -> Int64? {
        Int64(String(decoding: output, as: UTF8.self).filter(\.isNumber))
    }
}
