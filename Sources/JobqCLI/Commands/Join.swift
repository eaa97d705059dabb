import ArgumentParser
import JobqCore
import JobqStore

/// `jobq join [Q]`: asyncio's `Queue.join()` across processes.
struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Wait until a queue (or every queue) has no pending or running job.",
        discussion: """
            Like asyncio's Queue.join(): returns once nothing is unfinished, whatever the outcomes \
            (use wait or status for those), and at once for an empty or unknown queue. Exit status \
            124 if --timeout passes first.

            Examples:
              jobq join
              jobq join images --timeout 10m --progress
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queue (default: all queues).", valueName: "queue"))
    var queue: String?

    @OptionGroup var waiting: WaitOptions

    func validate() throws {
        try QueueName.validate(queue)
    }

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        guard let store = try database.openExisting() else { return }
        let watcher = waiting.watcher()
        let scope = queue.map { "queue \($0.displaySafe)" } ?? "all queues"
        var display = waiting.progressDisplay()
        var counts = (done: 0, total: 0)
        let finished: Bool?
        do {
            finished = try store.assumeIsolated { store in
                if DaemonNote.isDue(for: database), try store.unfinishedCount(queue: queue) > 0 {
                    DaemonNote.write(for: database, "nothing will finish before one starts")
                }
                guard display != nil else {
                    return try watcher.until(in: store) {
                        try store.unfinishedCount(queue: queue) == 0 ? true : nil
                    }
                }
                let baseline = try store.queueStats(queue: queue).reduce(0) { $0 + $1.terminal }
                return try watcher.until(
                    in: store,
                    {
                        let stats = try store.queueStats(queue: queue)
                        let unfinished = stats.reduce(0) { $0 + $1.unfinished }
                        let done = max(0, stats.reduce(0) { $0 + $1.terminal } - baseline)
                        counts = (done, done + unfinished)
                        display?.update(done: counts.done, total: counts.total)
                        return unfinished == 0 ? true : nil
                    }, tick: { display?.update(done: counts.done, total: counts.total) })
            }
        } catch {
            throw database.failure(error)
        }
        display?.finish(done: counts.done, total: counts.total)
        guard finished != nil else {
            let unfinished = try? store.assumeIsolated { store in try store.unfinishedCount(queue: queue) }
            let left = unfinished.map { ": \($0) unfinished" } ?? ""
            throw CLIError.timedOut("\(waiting.timedOut) joining \(scope)\(left)")
        }
    }
}

extension QueueStats {
    /// Jobs in a terminal state.
    var terminal: Int { succeeded + failed + cancelled }
}
