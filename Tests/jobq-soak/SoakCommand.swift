import ArgumentParser
import Foundation
import JobqReliability
import JobqTestSupport

/// `jobq-soak`: the crash soak of `scripts/soak`. Parses options, runs `Soak` (the library the
/// reliability tests run too) and prints its one-line summary; exit status 1 when a check failed.
@main
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobq-soak",
        abstract: "Stops jobqd again and again while it runs shell jobs, then checks that nothing was lost.",
        discussion: """
            Uses the jobq and jobqd beside this executable (or in $JOBQ_BIN_DIR). Progress goes to \
            stderr; the summary line to stdout.
            """)

    @Option(help: "Shell jobs to run (each appends its id to a file).")
    var jobs = 10_000

    @Option(help: "How many times jobqd is stopped and restarted while they run.")
    var kills = 50

    @Flag(help: "Stop jobqd with SIGTERM (a graceful stop: no job may run twice) instead of SIGKILL.")
    var sigterm = false

    @Option(help: "The queue's concurrency.")
    var concurrency = 4

    @Option(help: "Fixes the stop schedule; the same seed gives the same schedule.")
    var seed: UInt64 = 1

    @Option(help: "Every this many jobs sleeps --slow-seconds after appending its id (0: none).")
    var slowEvery = 100

    @Option(help: "How long a slow job sleeps.")
    var slowSeconds = 2

    @Option(help: "Work in this (existing) directory and keep it; default: a temporary one, removed afterwards.")
    var directory: String?

    func validate() throws {
        guard jobs > 0 else { throw ValidationError("--jobs must be at least 1") }
        guard kills >= 0 else { throw ValidationError("--kills must be 0 or more") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be at least 1") }
        guard slowEvery >= 0, slowSeconds >= 0 else {
            throw ValidationError("--slow-every and --slow-seconds must be 0 or more")
        }
    }

    func run() async throws {
        let report: SoakReport
        if let directory {
            report = try await soak(in: directory)
        } else {
            report = try await withTemporaryDirectory { try await soak(in: $0) }
        }
        print(report.summary)
        guard report.passed else {
            for problem in report.problems { FileHandle.standardError.write(Data("jobq-soak: \(problem)\n".utf8)) }
            throw ExitCode.failure
        }
    }

    private func soak(in directory: String) async throws -> SoakReport {
        var options = SoakOptions(directory: directory)
        options.jobs = jobs
        options.stops = kills
        options.stop = sigterm ? .terminate : .kill
        options.concurrency = concurrency
        options.seed = seed
        options.slowEvery = slowEvery
        options.slowSeconds = slowSeconds
        let started = ContinuousClock.now
        return try await Soak(options: options) { line in
            let elapsed = (ContinuousClock.now - started).components.seconds
            FileHandle.standardError.write(Data("jobq-soak [\(elapsed) s]: \(line)\n".utf8))
        }.run()
    }
}
