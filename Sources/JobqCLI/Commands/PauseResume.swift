import ArgumentParser
import JobqCore
import JobqStore

/// `jobq pause Q...`: jobqd starts no new job from these queues.
struct Pause: QueuePausingCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop starting new jobs from a queue (running jobs go on).",
        discussion: """
            The queue is created if it does not exist yet, so it can be paused before its first job.

            Examples:
              jobq pause images
              jobq status --queue images
            """
    )
    static let pauses = true

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queues to pause.", valueName: "queue"))
    var queues: [String]
}

/// `jobq resume Q...`: undo `pause`.
struct Resume: QueuePausingCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Start jobs from a paused queue again.",
        discussion: """
            Examples:
              jobq resume images
            """
    )
    static let pauses = false

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queues to resume.", valueName: "queue"))
    var queues: [String]
}

/// `pause` and `resume`, which differ only in the flag they set on the named queues.
protocol QueuePausingCommand: ParsableCommand {
    /// Whether the command pauses the queues (or resumes them).
    static var pauses: Bool { get }
    var global: GlobalOptions { get }
    var queues: [String] { get }
}

extension QueuePausingCommand {
    func validate() throws {
        try QueueName.validate(queues)
    }

    func run() throws {
        let (queues, paused) = (self.queues, Self.pauses)
        let database = try Database(global, environment: ProcessEnvironment.current)
        try database.writing { store in
            for queue in queues { try store.setPaused(queue, paused) }
        }
    }
}

/// Checks on queue names given as arguments, before anything is written.
enum QueueName {
    /// At least one name, each one the store accepts (not empty, no control characters).
    static func validate(_ names: [String]) throws {
        guard !names.isEmpty else { throw ValidationError("name at least one queue") }
        for name in names {
            if let problem = JobStore.problem(withQueueName: name) {
                throw ValidationError("'\(name.displaySafe)': \(problem)")
            }
        }
    }

    /// A queue option or argument, if given, is a name the store accepts: `--queue ""` (an unset
    /// variable) is a mistake, not a question about a queue that cannot exist.
    static func validate(_ name: String?) throws {
        if let name { try validate([name]) }
    }
}
