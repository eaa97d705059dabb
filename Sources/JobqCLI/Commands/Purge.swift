import ArgumentParser
import JobqCore
import JobqStore

/// `jobq purge`: delete finished jobs.
struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete finished jobs (succeeded, failed, cancelled) from the database.",
        discussion: """
            Pending and running jobs are never purged, nor a job that another job not purged with \
            it depends on. Prints how many jobs were deleted.

            Examples:
              jobq purge
              jobq purge --older-than 7d --state succeeded
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only jobs that finished at least this long ago. \(durationHelpSuffix)")
    var olderThan: DurationArgument?

    @Option(help: "Only jobs in this terminal state (repeatable; default: all three).")
    var state: [StateArgument] = []

    func validate() throws {
        if let bad = state.first(where: { !$0.state.isTerminal }) {
            throw ValidationError("only finished jobs can be purged, not \(bad.state.rawValue) ones")
        }
    }

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        let now = Timestamp.now()
        let states = state.isEmpty ? Set(JobState.allCases.filter(\.isTerminal)) : Set(state.map(\.state))
        let cutoff = olderThan.map { Timestamp(milliseconds: now.milliseconds - $0.duration.wholeMilliseconds) }
        let count =
            try database.reading { store in
                try store.purge(olderThan: cutoff, states: states, now: now)
            } ?? 0
        OutputStream.standardOutput.write("purged \(count) \(count == 1 ? "job" : "jobs")\n")
    }
}
