import ArgumentParser
import JobqCore
import JobqStore

/// `jobq retry ID...`: put failed or cancelled jobs back to pending.
struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put failed or cancelled jobs back to pending.",
        discussion: """
            All or nothing: if a job does not exist, is not failed or cancelled, or depends on a \
            job that failed or was cancelled and is not retried with it, nothing is retried and \
            the exit status is 1. A retried job is due at once (its --delay or --at \
            is not applied again). The jobs that were cancelled because it failed stay cancelled \
            unless --dependents takes them along, down the whole pipeline.

            Examples:
              jobq retry 42
              jobq retry --dependents 42
              jobq list --state failed --json | jq -r '.[].id' | xargs -r jobq retry
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The jobs to retry.", valueName: "id"))
    var ids: [JobIDsArgument]

    @Flag(help: "Also retry the jobs that were cancelled because these failed (and theirs, and so on).")
    var dependents = false

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("name at least one job id") }
    }

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        let ids = self.ids.uniqueIDs
        let dependents = self.dependents
        let retried: (ids: [JobID], states: [JobID: JobState])? = try database.reading { store in
            let before = try store.states(of: ids)
            for id in ids {
                guard let state = before[id] else { throw database.jobNotFound(id) }
                guard state == .failed || state == .cancelled else {
                    throw CLIError.failed(
                        "job \(id) is \(state.rawValue); only failed or cancelled jobs can be retried")
                }
            }
            let all = dependents ? ids + (try store.cascadeCancelledDependents(of: ids)) : ids
            return (all, try store.retry(all, now: .now()))
        }
        guard let (ids, after) = retried else { throw database.jobNotFound(ids[0]) }
        OutputStream.standardOutput.write(ids.map { "\($0) \(after[$0]?.rawValue ?? "pending")\n" }.joined())
    }
}
