import ArgumentParser
import JobqCore
import JobqStore

/// `jobq join [Q]`: asyncio's `Queue.join()` across processes.
struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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

    @Option(help: "Give up after this long, with exit status 124. \(durationHelpSuffix)")
    var timeout: DurationArgument?

    @Flag(
        inversion: .prefixedNo,
        help: "Draw a progress bar (done/total, rate, ETA) on stderr; default: when run from a terminal.")
    var progress: Bool?

    func run() async throws {
        let database = Database(global, environment: ProcessEnvironment.current)
        guard let store = try await database.openExisting() else { return }
        let watcher = ChangeWatcher(store: store, timeout: timeout?.duration)
        let scope = queue.map { "queue \($0.displaySafe)" } ?? "all queues"
        var display = ProgressChoice.enabled(progress) ? ProgressDisplay(stream: .standardError) : nil
        var counts = (done: 0, total: 0)
        let finished: Bool?
        do {
            if display != nil {
                let baseline = try await store.queueStats(queue: queue).reduce(0) { $0 + $1.terminal }
                finished = try await watcher.until(
                    {
                        let stats = try await store.queueStats(queue: queue)
                        let unfinished = stats.reduce(0) { $0 + $1.unfinished }
                        let done = max(0, stats.reduce(0) { $0 + $1.terminal } - baseline)
                        counts = (done, done + unfinished)
                        display?.update(done: counts.done, total: counts.total)
                        return unfinished == 0 ? true : nil
                    }, tick: { display?.update(done: counts.done, total: counts.total) })
            } else {
                finished = try await watcher.until {
                    try await store.unfinishedCount(queue: queue) == 0 ? true : nil
                }
            }
        } catch {
            throw database.failure(error)
        }
        display?.finish(done: counts.done, total: counts.total)
        guard finished != nil else {
            let left = (try? await store.unfinishedCount(queue: queue)).map { ": \($0) unfinished" } ?? ""
            throw CLIError.timedOut("timed out after \(DurationText.format(timeout!.duration)) joining \(scope)\(left)")
        }
    }
}

extension QueueStats {
    /// Jobs in a terminal state.
    var terminal: Int { succeeded + failed + cancelled }
}
