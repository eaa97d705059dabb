import ArgumentParser
import JobqCore
import JobqStore

/// `jobq logs ID`: the job's captured output; `--follow` streams it until the job ends.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a job's captured output (its stdout to stdout, its stderr to stderr).",
        discussion: """
            jobqd keeps the tail of each stream of the job's current (or last) attempt: the last \
            64 KiB. With --follow, output is printed as jobqd stores it (every half second) until \
            the job ends, each retry's from its start; a stream that wrote more than 64 KiB \
            between two stores loses its middle.

            Examples:
              jobq logs 42
              jobq logs --follow 42 | grep -i error
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job.", valueName: "id"))
    var id: JobIDArgument

    @Flag(name: .shortAndLong, help: "Keep printing new output until the job has ended.")
    var follow = false

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        let id = id.id
        guard let store = try database.openExisting() else { throw database.jobNotFound(id) }
        do {
            try store.assumeIsolated { store in
                guard let job = try store.job(id) else { throw database.jobNotFound(id) }
                OutputStream.standardOutput.write(job.stdout)
                OutputStream.standardError.write(job.stderr)
                guard follow, !job.state.isTerminal else { return }
                var shown = (attempt: job.attempts, stdout: job.stdoutBytes, stderr: job.stderrBytes)
                _ = try ChangeWatcher(timeout: nil).until(in: store) {
                    guard let job = try store.job(id) else { throw database.jobNotFound(id) }
                    // A new attempt starts its output afresh.
                    if job.attempts != shown.attempt { shown = (job.attempts, 0, 0) }
                    OutputStream.standardOutput.write(
                        OutputTail.newBytes(tail: job.stdout, written: job.stdoutBytes, shown: shown.stdout))
                    OutputStream.standardError.write(
                        OutputTail.newBytes(tail: job.stderr, written: job.stderrBytes, shown: shown.stderr))
                    shown = (job.attempts, job.stdoutBytes, job.stderrBytes)
                    return job.state.isTerminal ? true : nil
                }
            }
        } catch {
            throw database.failure(error)
        }
    }
}

/// Works out what is new in a bounded output tail that the daemon rewrites as a job runs.
enum OutputTail {
    /// The bytes of `tail` not shown yet, when the attempt has written `written` bytes in all
    /// and `shown` of them were shown: the last `written - shown` bytes of the tail, or the
    /// whole tail when more than it holds came meanwhile.
    static func newBytes(tail: [UInt8], written: Int64, shown: Int64) -> ArraySlice<UInt8> {
        guard written > shown else { return [] }
        return tail.suffix(Int(min(written - shown, Int64(tail.count))))
    }
}
