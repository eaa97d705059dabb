import ArgumentParser
import JobqCore
import JobqStore

/// `jobq cancel ID...` / `jobq cancel --queue Q`.
struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel pending jobs and stop running ones.",
        discussion: """
            A pending job is cancelled before the command returns; a running job is marked, and \
            becomes cancelled once jobqd has stopped its process group. Jobs that already ended are \
            left as they are. Prints one line per job; exit status 1 if a job does not exist.

            Examples:
              jobq cancel 42 43
              jobq cancel --queue images
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The jobs to cancel.", valueName: "id"))
    var ids: [JobIDsArgument] = []

    @Option(
        name: [.customShort("q"), .long],
        help: ArgumentHelp("Cancel every unfinished job of this queue.", valueName: "name"))
    var queue: String?

    func validate() throws {
        if ids.isEmpty == (queue == nil) { throw ValidationError("give job ids or --queue, not both and not neither") }
        try QueueName.validate(queue)
    }

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        let stdout = OutputStream.standardOutput
        if let queue {
            let count =
                try database.reading { store in
                    try store.cancel(queue: queue, now: .now())
                } ?? 0
            stdout.write("cancelled \(count) \(count == 1 ? "job" : "jobs") in queue \(queue.displaySafe)\n")
            return
        }
        let ids = self.ids.uniqueIDs
        let outcomes: [JobID: CancelOutcome]? = try database.reading { store in
            do {
                return try store.cancel(ids, now: .now())
            } catch StoreError.jobNotFound(let missing) {
                throw database.jobNotFound(missing)
            }
        }
        guard let outcomes else { throw database.jobNotFound(ids[0]) }
        var output = ""
        for id in ids {
            switch outcomes[id] {
            case .cancelled: output += "\(id) cancelled\n"
            case .stopping: output += "\(id) cancelling (running; stops when jobqd ends it)\n"
            case .alreadyEnded(let state): output += "\(id) already \(state.rawValue)\n"
            case nil: break
            }
        }
        stdout.write(output)
    }
}
