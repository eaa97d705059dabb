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
    var ids: [JobIDArgument] = []

    @Option(
        name: [.customShort("q"), .long],
        help: ArgumentHelp("Cancel every unfinished job of this queue.", valueName: "name"))
    var queue: String?

    func validate() throws {
        if ids.isEmpty == (queue == nil) { throw ValidationError("give job ids or --queue, not both and not neither") }
    }

    func run() throws {
        let database = Database(global, environment: ProcessEnvironment.current)
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
        let results: [(id: JobID, before: JobState, after: JobState)]? = try database.reading { store in
            let before = try store.states(of: ids)
            if let missing = ids.first(where: { before[$0] == nil }) { throw database.jobNotFound(missing) }
            let after = try store.cancel(ids, now: .now())
            return ids.map { (id: $0, before: before[$0]!, after: after[$0] ?? before[$0]!) }
        }
        guard let results else { throw database.jobNotFound(ids[0]) }
        var output = ""
        for result in results {
            switch (result.before, result.after) {
            case (_, .cancelled) where !result.before.isTerminal: output += "\(result.id) cancelled\n"
            case (.running, .running): output += "\(result.id) cancelling (running; stops when jobqd ends it)\n"
            default: output += "\(result.id) already \(result.before.rawValue)\n"
            }
        }
        stdout.write(output)
    }
}
