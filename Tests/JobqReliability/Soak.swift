import Foundation
import JobqTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What a soak run does: how many jobs, how many daemon stops of which kind, and the seed that
/// fixes the schedule.
public struct SoakOptions: Sendable {
    /// How the driver stops the daemon.
    public enum Stop: String, Sendable {
        /// SIGKILL: a crash. Jobs running at the kill may run twice, no more.
        case kill
        /// SIGTERM: a graceful stop. Nothing may run twice.
        case terminate
    }

    /// The number of shell jobs; each appends its `$JOBQ_JOB_ID` to one file.
    public var jobs = 10_000
    /// How many times the daemon is stopped and restarted while the jobs run.
    public var stops = 50
    /// How the daemon is stopped.
    public var stop = Stop.kill
    /// The queue's concurrency.
    public var concurrency = 4
    /// Fixes the stop schedule (and the queue's share of slow jobs).
    public var seed: UInt64 = 1
    /// Every this many jobs (by position) sleeps `slowSeconds` after appending, so that stops
    /// catch long runs and a crash leaves processes behind for recovery to stop; 0 for none.
    public var slowEvery = 100
    /// How long a slow job sleeps.
    public var slowSeconds = 2
    /// The directory for the database, the batch and the output file (it must exist).
    public var directory: String
    /// Give up when no job finishes for this long.
    public var stallTimeout: Duration = .seconds(120)

    /// The defaults of `scripts/soak`, working in `directory`.
    public init(directory: String) {
        self.directory = directory
    }
}

/// What a soak run found. `summary` is the one line `scripts/soak` prints.
public struct SoakReport: Sendable {
    /// The options it ran with.
    public var options: SoakOptions
    /// Daemon stops done.
    public var stops = 0
    /// Jobs that did not succeed or never appended their id.
    public var lost = 0
    /// Extra appearances of ids in the output file (runs beyond the first).
    public var duplicates = 0
    /// Distinct runs (job, attempt) that were `running` at a stop: the bound on duplicates.
    public var runningAtStops = 0
    /// Processes of jobs that outlived what should have stopped them.
    public var orphans = 0
    /// Every failed check, in words.
    public var problems: [String] = []

    /// Whether every check held.
    public var passed: Bool { problems.isEmpty }

    /// `jobs 10000, kills 50, lost 0, duplicates 7 (≤ running at kills 61), orphans 0`
    public var summary: String {
        switch options.stop {
        case .kill:
            "jobs \(options.jobs), kills \(stops), lost \(lost), duplicates \(duplicates) "
                + "(≤ running at kills \(runningAtStops)), orphans \(orphans)"
        case .terminate:
            "jobs \(options.jobs), sigterms \(stops), lost \(lost), duplicates \(duplicates), orphans \(orphans)"
        }
    }
}

/// Why a soak could not finish its run (as opposed to a failed check, which is in the report).
public struct SoakError: Error, CustomStringConvertible {
    public var description: String
}

/// The crash soak (issue 7): enqueue `jobs` shell jobs, then stop `jobqd` `stops` times at
/// random moments (SIGKILL or SIGTERM) and restart it, wait for every job to end, and check
/// that nothing was lost, that only runs cut short by a crash ran twice, that no job process
/// outlived recovery, and that `queue_stats` agrees with the `jobs` table.
public struct Soak: Sendable {
    private let options: SoakOptions
    private let note: @Sendable (String) -> Void
    private let database: String
    private let outputFile: String
    /// Marks every job process (through the job's environment) so the driver can find them.
    private let token: String
    private static let markerName = "JOBQ_SOAK_RUN"
    private static let queue = "soak"

    /// - Parameter note: receives a line now and then about what the soak is doing.
    public init(options: SoakOptions, note: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.note = note
        database = options.directory + "/soak.db"
        outputFile = options.directory + "/ids.txt"
        token = "\(options.seed)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Runs the soak. Throws only when it cannot go on (a tool failed, the daemon died or
    /// stalled); failed checks are in the report.
    public func run() async throws -> SoakReport {
        var report = SoakReport(options: options)
        let ids = try await enqueue()
        note("enqueued \(ids.count) jobs; stopping jobqd \(options.stops) times (\(options.stop.rawValue))")
        let probe = try DatabaseProbe(path: database)
        var random = SeededRandom(seed: options.seed)
        let thresholds = (0..<options.stops).map { _ in Int.random(in: 0..<options.jobs, using: &random) }.sorted()
        // Runs (job id, attempt) that were running at a stop, and those whose processes the
        // next ready daemon must have stopped.
        var runningAtStops = Set<Run>()
        var toBeStopped = Set<Run>()
        // Runs that were running at a kill without their process recorded (for messages).
        var unrecorded = Set<Run>()

        var daemon = try JobqdProcess.launch(
            database: database, directory: options.directory, arguments: daemonArguments)
        do {
            for threshold in thresholds {
                // A kill now and then lands before the daemon is ready: a crash during recovery.
                if options.stop == .kill && random.oneIn(8) {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0..<100, using: &random)))
                } else {
                    try await waitUntilReady(daemon, toBeStopped: &toBeStopped, unrecorded: unrecorded, report: &report)
                    try await waitForProgress(probe, daemon, "\(threshold) jobs ended") {
                        try finished(probe) >= threshold
                    }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0..<20, using: &random)))
                }
                try await stop(daemon, report: &report)
                let runningRows = try probe.running()
                let running = runningRows.map { Run(id: $0.id, attempt: $0.attempt) }
                unrecorded.formUnion(
                    runningRows.filter { !$0.processRecorded }.map { Run(id: $0.id, attempt: $0.attempt) })
                if options.stop == .terminate && !running.isEmpty {
                    report.problems.append("after a graceful stop, jobs are still running: \(running)")
                }
                runningAtStops.formUnion(running)
                toBeStopped.formUnion(running)
                report.stops += 1
                if report.stops % 10 == 0 || report.stops == options.stops {
                    note("stop \(report.stops)/\(options.stops): \(try finished(probe)) of \(ids.count) jobs ended")
                }
                daemon = try JobqdProcess.launch(
                    database: database, directory: options.directory, arguments: daemonArguments)
            }
            try await waitUntilReady(daemon, toBeStopped: &toBeStopped, unrecorded: unrecorded, report: &report)
            try await waitForProgress(probe, daemon, "every job to end") { try probe.unfinished() == 0 }
            let exit = try await daemon.terminate(timeout: .seconds(60))
            if exit.exitStatus != 0 {
                report.problems.append("the last jobqd ended with \(exit.termination): \(daemon.log)")
            }
        } catch {
            _ = try? await daemon.kill()
            stopLeftovers()
            throw error
        }
        report.runningAtStops = runningAtStops.count
        try check(ids: ids, runningAtStops: runningAtStops, probe: probe, report: &report)
        return report
    }

    private struct Run: Hashable, CustomStringConvertible {
        var id: Int64
        var attempt: Int
        var description: String { "\(id)#\(attempt)" }
    }

    private var daemonArguments: [String] { ["--log-level", "warning"] }

    private func finished(_ probe: DatabaseProbe) throws -> Int {
        try probe.count(state: "succeeded") + probe.count(state: "failed") + probe.count(state: "cancelled")
    }

    // MARK: Setup

    /// Creates the queue and enqueues every job in one batch; returns their ids.
    private func enqueue() async throws -> [Int64] {
        let jobq = try Binaries.path(of: "jobq")
        var environment = ProcessInfo.processInfo.environment
        environment["JOBQ_DB"] = nil
        let settings = try await runProcess(
            jobq, ["--db", database, "queue", "set", Self.queue, "--concurrency", String(options.concurrency)],
            environment: environment)
        guard settings.exitStatus == 0 else { throw SoakError(description: "jobq queue set failed: \(settings)") }
        let batchFile = options.directory + "/jobs.jsonl"
        var batch = ""
        for index in 0..<options.jobs {
            var script = "printf '%s\\n' \"$JOBQ_JOB_ID\" >> '\(outputFile)'"
            if options.slowEvery > 0 && index % options.slowEvery == options.slowEvery - 1 {
                script += "; sleep \(options.slowSeconds)"
            }
            batch += "{\"shell\":\(jsonString(script)),\"env\":{\"\(Self.markerName)\":\(jsonString(token))}}\n"
        }
        try batch.write(toFile: batchFile, atomically: true, encoding: .utf8)
        let added = try await runProcess(
            jobq, ["--db", database, "add", "--queue", Self.queue, "--batch", batchFile], environment: environment,
            timeout: .seconds(300))
        let ids = added.stdoutText.split(separator: "\n").compactMap { Int64($0) }
        guard added.exitStatus == 0, ids.count == options.jobs else {
            throw SoakError(description: "jobq add --batch failed: \(added.termination), \(added.stderrText)")
        }
        return ids
    }

    private func jsonString(_ text: String) -> String {
        var result = "\""
        for character in text {
            switch character {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default: result.append(character)
            }
        }
        return result + "\""
    }

    // MARK: Driving the daemon

    /// Waits for READY=1, then checks that no process of a run cut short by an earlier stop is
    /// still alive: recovery must stop them before the daemon takes work (SPEC §2).
    private func waitUntilReady(
        _ daemon: JobqdProcess, toBeStopped: inout Set<Run>, unrecorded: Set<Run>, report: inout SoakReport
    ) async throws {
        try await daemon.waitUntilReady(timeout: .seconds(60))
        let survivors = ProcessTable.processes(withEnvironment: Self.markerName, equalTo: token).filter { process in
            guard let id = process.jobID, let attempt = process.attempt else { return false }
            return toBeStopped.contains(Run(id: id, attempt: attempt))
        }
        if !survivors.isEmpty {
            report.orphans += survivors.count
            let runs = Set(
                survivors.compactMap { process in process.jobID.map { Run(id: $0, attempt: process.attempt ?? 0) } })
            report.problems.append(
                "a ready jobqd left processes of interrupted runs alive: \(survivors); "
                    + "runs whose process was not recorded at the kill: \(runs.intersection(unrecorded).sorted { $0.id < $1.id })"
            )
            for process in survivors { kill(process.pid, SIGKILL) }
        }
        toBeStopped.removeAll()
    }

    /// Polls until `condition` holds; throws when the daemon dies or no job ends for the stall timeout.
    private func waitForProgress(
        _ probe: DatabaseProbe, _ daemon: JobqdProcess, _ what: String, _ condition: () throws -> Bool
    ) async throws {
        let clock = ContinuousClock()
        var lastCount = -1
        var lastChange = clock.now
        while try !condition() {
            if daemon.hasExited {
                let result = try await daemon.process.waitForExit(timeout: .seconds(10))
                throw SoakError(
                    description: "jobqd ended (\(result.termination)) while waiting for \(what): \(daemon.log)")
            }
            let count = try finished(probe)
            if count != lastCount {
                lastCount = count
                lastChange = clock.now
            } else if clock.now - lastChange > options.stallTimeout {
                throw SoakError(
                    description:
                        "no job ended for \(options.stallTimeout) while waiting for \(what); jobqd: \(daemon.log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func stop(_ daemon: JobqdProcess, report: inout SoakReport) async throws {
        switch options.stop {
        case .kill:
            try await daemon.kill()
        case .terminate:
            let result = try await daemon.terminate(timeout: .seconds(60))
            if result.exitStatus != 0 {
                report.problems.append("jobqd did not stop cleanly on SIGTERM: \(result.termination); \(daemon.log)")
            }
        }
    }

    /// Kills every process still marked as ours; returns what was found.
    @discardableResult
    private func stopLeftovers() -> [MarkedProcess] {
        let leftovers = ProcessTable.processes(withEnvironment: Self.markerName, equalTo: token)
        for process in leftovers { kill(process.pid, SIGKILL) }
        return leftovers
    }

    // MARK: Checks

    private func check(ids: [Int64], runningAtStops: Set<Run>, probe: DatabaseProbe, report: inout SoakReport) throws {
        var appearances: [Int64: Int] = [:]
        let output = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        for line in output.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard let id = Int64(line) else {
                report.problems.append("the output file has a line that is not a job id: \(line.debugDescription)")
                continue
            }
            appearances[id, default: 0] += 1
        }
        let allowed = Dictionary(grouping: runningAtStops, by: \.id).mapValues(\.count)
        let jobs = try probe.jobs()
        var lost: [String] = []
        var excess: [String] = []
        for id in ids {
            let count = appearances.removeValue(forKey: id) ?? 0
            let row = jobs[id]
            if count == 0 || row?.state != "succeeded" || row?.exitCode != 0 {
                lost.append(
                    "\(id) (ran \(count) times, \(row.map { "\($0.state), exit \($0.exitCode.map(String.init) ?? "none")" } ?? "no row"))"
                )
            }
            report.duplicates += max(0, count - 1)
            if count > 1 + (allowed[id] ?? 0) || count > (row?.attempts ?? 0) {
                excess.append(
                    "\(id) ran \(count) times with \(row?.attempts ?? 0) attempts, \(allowed[id] ?? 0) of them cut short by a stop"
                )
            }
        }
        report.lost = lost.count
        if !lost.isEmpty { report.problems.append("\(lost.count) jobs lost: \(lost.prefix(20))") }
        if !excess.isEmpty { report.problems.append("jobs ran more often than stops explain: \(excess.prefix(20))") }
        if !appearances.isEmpty {
            report.problems.append("ids that are no job of the soak ran: \(appearances.keys.sorted().prefix(20))")
        }
        if options.stop == .terminate && report.duplicates > 0 {
            report.problems.append("\(report.duplicates) jobs ran twice although every stop was graceful")
        }
        report.problems += try probe.queueStatsDisagreements()
        let leftovers = stopLeftovers()
        if !leftovers.isEmpty {
            report.orphans += leftovers.count
            report.problems.append("job processes outlived the soak: \(leftovers)")
        }
    }
}
