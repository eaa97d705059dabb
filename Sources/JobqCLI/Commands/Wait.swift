import ArgumentParser
import JobqCore
import JobqStore

/// `jobq wait ID...`: block until the jobs are terminal; fail unless all succeeded.
struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until the given jobs have ended; exit status 1 unless all succeeded.",
        discussion: """
            Exit status: 0 if every job succeeded; 1 if one ended failed or cancelled (stderr names \
            them) or does not exist; 124 if --timeout passes first.

            Examples:
              jobq wait 41 42 43
              id=$(jobq add make) && jobq wait "$id" --timeout 30m
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The jobs to wait for.", valueName: "id"))
    var ids: [JobIDsArgument]

    @OptionGroup var waiting: WaitOptions

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("name at least one job id") }
    }

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        let ids = self.ids.uniqueIDs
        let watcher = waiting.watcher()
        var display = waiting.progressDisplay()
        var states: [JobID: JobState] = [:]
        guard let store = try database.openExisting() else { throw database.jobNotFound(ids[0]) }
        let finished: Bool?
        do {
            finished = try store.assumeIsolated { store in
                if DaemonNote.isDue(for: database), try store.states(of: ids).values.contains(where: { !$0.isTerminal })
                {
                    DaemonNote.write(for: database, "nothing will finish before one starts")
                }
                return try watcher.until(
                    in: store,
                    {
                        states = try store.states(of: ids)
                        if let missing = ids.first(where: { states[$0] == nil }) { throw database.jobNotFound(missing) }
                        let done = states.values.filter(\.isTerminal).count
                        display?.update(done: done, total: ids.count)
                        return done == ids.count ? true : nil
                    }, tick: { display?.update(done: states.values.filter(\.isTerminal).count, total: ids.count) })
            }
        } catch {
            throw database.failure(error)
        }
        display?.finish(done: states.values.filter(\.isTerminal).count, total: ids.count)
        guard finished != nil else {
            let unfinished = ids.filter { !(states[$0]?.isTerminal ?? false) }
            throw CLIError.timedOut(
                "\(waiting.timedOut) with \(unfinished.count) of \(ids.count)"
                    + " jobs unfinished: " + Self.list(unfinished.map(String.init)))
        }
        let unsuccessful = ids.filter { states[$0] != .succeeded }
        guard unsuccessful.isEmpty else {
            throw CLIError.failed(Self.list(unsuccessful.map { "job \($0) \(states[$0]!.rawValue)" }))
        }
    }

    /// How many jobs a failure or timeout message names before "and N more".
    static let namedInMessages = 10

    /// The first `namedInMessages` of `items`, comma-separated, then how many more: the error
    /// stays one readable line when thousands of jobs were waited for.
    static func list(_ items: [String]) -> String {
        let head = items.prefix(namedInMessages).joined(separator: ", ")
        return items.count > namedInMessages ? head + " and \(items.count - namedInMessages) more" : head
    }
}
