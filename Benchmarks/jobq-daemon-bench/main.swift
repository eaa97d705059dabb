// jobq-daemon-bench: the daemon end to end, each figure next to its target and, where there is
// one, a baseline measured in the same run.
//
//   jobq-daemon-bench [--only SECTION,…] [--jobs N] [--rounds N] [--samples N] [--pending N]
//                     [--shapes 4x512,…] [--jobqd PATH] [--quick]
//
// Run it through `scripts/bench-jobqd`, which builds it and `jobqd` in release mode.
import BenchmarkSupport
import JobqDaemon

#if canImport(Glibc)
    import Glibc
#endif

let options = Options.parse(CommandLine.arguments.dropFirst())
print(Machine.current.description)

/// One line of the results table.
struct Row {
    var figure: String
    var jobq: String
    var baseline = ""
    var ratio = ""
    var target: String
    var met: Bool?
}

var rows: [Row] = []

func verdict(_ met: Bool?) -> String {
    switch met {
    case true?: "met"
    case false?: "**missed**"
    case nil: ""
    }
}

func fixed(_ value: Double, _ decimals: Int = 2) -> String { Stats.fixed(value, decimals: decimals) }

func percentiles(_ samples: [Double]) -> (p50: Double, p99: Double) {
    (Stats.percentile(samples, 0.5), Stats.percentile(samples, 0.99))
}

func mebibytes(_ kibibytes: Int) -> String { fixed(Double(kibibytes) / 1024, 1) }

/// The `jobqd` beside this executable (both are built into the same directory).
func defaultJobqd() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return "jobqd" }
    let executable = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(executable[..<(executable.lastIndex(of: "/") ?? executable.startIndex)]) + "/jobqd"
}

let jobqd = options.jobqd ?? defaultJobqd()
let defaultShape = PoolShape(
    concurrency: DaemonConfiguration.processorCount, capacity: DaemonConfiguration(databasePath: "").defaultCapacity)

do {
    if options.sections.contains(.throughput) {
        let shapes = [defaultShape] + options.shapes.filter { $0 != defaultShape }
        let result = try await Throughput.run(jobs: options.jobs, rounds: options.rounds, shapes: shapes)
        let best = result.library.max { $0.rate < $1.rate }
        for (index, entry) in result.library.enumerated() {
            let share = entry.rate / result.raw
            let label = index == 0 ? "default: \(entry.shape)" : "\(entry.shape)"
            rows.append(
                Row(
                    figure: "no-op jobs, library path, \(label)\(entry.shape == best?.shape ? " (best)" : "") (jobs/s)",
                    jobq: fixed(entry.rate, 0), baseline: "raw SQLite batch 500: \(fixed(result.raw, 0))",
                    ratio: "\(fixed(share * 100, 0))%", target: "≥ 100000 and ≥ 60% of raw",
                    met: entry.rate >= 100_000 && share >= 0.6))
        }
    }
    if options.sections.contains(.latency) {
        let samples = try await LibraryLatency.run(samples: options.samples)
        let commit = percentiles(samples.fromCommit)
        let call = percentiles(samples.fromCall)
        let enqueue = percentiles(samples.enqueue)
        let baseline = "the durable enqueue call: \(fixed(enqueue.p50, 3)) / \(fixed(enqueue.p99, 3))"
        rows.append(
            Row(
                figure: "library: enqueue committed → handler start, p50 / p99 (ms, \(samples.fromCommit.count) jobs)",
                jobq: "\(fixed(commit.p50, 3)) / \(fixed(commit.p99, 3))", baseline: baseline,
                target: "p50 ≤ 0.3", met: commit.p50 <= 0.3))
        rows.append(
            Row(
                figure: "library: enqueue called → handler start, p50 / p99 (ms)",
                jobq: "\(fixed(call.p50, 3)) / \(fixed(call.p99, 3))", target: "p50 ≤ 0.3", met: call.p50 <= 0.3))
    }
    if options.sections.contains(.jobqd) {
        let samples = try await DaemonLatency.run(jobqd: jobqd, probe: options.probe, samples: options.samples)
        let commit = percentiles(samples.fromCommit)
        let call = percentiles(samples.fromCall)
        let direct = percentiles(samples.direct)
        rows.append(
            Row(
                figure:
                    "jobqd: enqueue committed → process runs, p50 / p99 (ms, \(samples.fromCommit.count) jobs "
                    + "of `\(options.probe.map { String($0.split(separator: "/").last ?? "") }.joined(separator: " "))`)",
                jobq: "\(fixed(commit.p50)) / \(fixed(commit.p99))",
                baseline: "posix_spawn of the same program: \(fixed(direct.p50)) / \(fixed(direct.p99))",
                ratio: Stats.ratio(commit.p50 / direct.p50), target: "p50 ≤ 2, p99 ≤ 10",
                met: commit.p50 <= 2 && commit.p99 <= 10))
        rows.append(
            Row(
                figure: "jobqd: enqueue called → process runs, p50 / p99 (ms)",
                jobq: "\(fixed(call.p50)) / \(fixed(call.p99))", target: "p50 ≤ 2, p99 ≤ 10",
                met: call.p50 <= 2 && call.p99 <= 10))
        let crowded = try await DaemonLatency.run(
            jobqd: jobqd, probe: options.probe, samples: options.samples, otherQueues: 9_000)
        let crowdedCommit = percentiles(crowded.fromCommit)
        rows.append(
            Row(
                figure:
                    "jobqd: enqueue committed → process runs, 9,000 other queues in the database, p50 / p99 (ms)",
                jobq: "\(fixed(crowdedCommit.p50)) / \(fixed(crowdedCommit.p99))",
                baseline: "alone, above: \(fixed(commit.p50)) / \(fixed(commit.p99))",
                ratio: Stats.ratio(crowdedCommit.p50 / commit.p50), target: "p50 ≤ 2, p99 ≤ 10",
                met: crowdedCommit.p50 <= 2 && crowdedCommit.p99 <= 10))
    }
    if options.sections.contains(.memory) {
        let result = try await Memory.run(jobqd: jobqd, pending: options.pending)
        rows.append(
            Row(
                figure: "jobqd VmRSS idle (MiB)", jobq: mebibytes(result.idle), target: "≤ 30",
                met: result.idle <= 30 * 1024))
        rows.append(
            Row(
                figure: "jobqd VmRSS, \(options.pending) pending behind a blocking job, concurrency 1, "
                    + "\(result.buffered) in memory: settled / peak sampled / VmHWM (MiB)",
                jobq: "\(mebibytes(result.loaded)) / \(mebibytes(result.peak)) / \(mebibytes(result.highWater))",
                baseline: "idle: \(mebibytes(result.idle))",
                ratio: Stats.ratio(Double(result.peak) / Double(result.idle)), target: "≤ 40, flat",
                met: result.peak <= 40 * 1024))
        let bursts = try await Memory.afterQueueBursts(jobqd: jobqd, queues: 3_000, rounds: 3)
        rows.append(
            Row(
                figure: "jobqd VmRSS after each of 3 bursts of 3,000 one-job queues, once idle (MiB)",
                jobq: bursts.map(mebibytes).joined(separator: " / "),
                baseline: "idle: \(mebibytes(result.idle))",
                ratio: Stats.ratio(Double(bursts.last ?? 0) / Double(result.idle)), target: "no target; flat"))
    }
} catch {
    print("jobq-daemon-bench: \(error)")
    exit(1)
}

print("")
Stats.printTable(
    header: ["figure", "jobq", "baseline, same run", "jobq / baseline", "target", "target met"],
    rows: rows.map { [$0.figure, $0.jobq, $0.baseline, $0.ratio, $0.target, verdict($0.met)] })
print("load average at the end: \(Machine.loadAverage)")
