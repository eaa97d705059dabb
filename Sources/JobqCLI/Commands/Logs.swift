import ArgumentParser
import JobqCore
import JobqStore

/// `jobq logs ID`: the job's captured output; `--follow` streams it until the job ends.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a job's captured output (its stdout to stdout, its stderr to stderr).",
        discussion: """
            jobqd keeps the tail of each stream (the last 64 KiB or so). With --follow, output \
            stored while the job runs is printed as it arrives, until the job ends.

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
        let database = Database(global, environment: ProcessEnvironment.current)
        let id = id.id
        guard let store = try database.openExisting() else { throw database.jobNotFound(id) }
        do {
            try store.assumeIsolated { store in
                guard let job = try store.job(id) else { throw database.jobNotFound(id) }
                OutputStream.standardOutput.write(job.stdout)
                OutputStream.standardError.write(job.stderr)
                guard follow, !job.state.isTerminal else { return }
                var shown = (stdout: job.stdout, stderr: job.stderr)
                _ = try ChangeWatcher(timeout: nil).until(in: store) {
                    guard let job = try store.job(id) else { throw database.jobNotFound(id) }
                    OutputStream.standardOutput.write(OutputTail.newBytes(previous: shown.stdout, current: job.stdout))
                    OutputStream.standardError.write(OutputTail.newBytes(previous: shown.stderr, current: job.stderr))
                    shown = (job.stdout, job.stderr)
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
    /// The bytes of `current` that were not in `previous`. When the tail was cut at the front
    /// (it keeps only the last bytes), the longest end of `previous` that starts `current`
    /// is taken as already shown; a tail that shares nothing (a new attempt) is all new.
    static func newBytes(previous: [UInt8], current: [UInt8]) -> ArraySlice<UInt8> {
        if current.starts(with: previous) { return current[previous.count...] }
        var start = max(1, previous.count - current.count)
        while start < previous.count {
            if current.starts(with: previous[start...]) { return current[(previous.count - start)...] }
            start += 1
        }
        return current[...]
    }
}
