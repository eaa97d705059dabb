import ArgumentParser
import JobqCore
import JobqStore

/// `jobq pause Q...`: jobqd starts no new job from these queues.
struct Pause: ParsableCommand {
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

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queues to pause.", valueName: "queue"))
    var queues: [String]

    func validate() throws {
        try QueueName.validate(queues)
    }

    func run() throws {
        let database = Database(global, environment: ProcessEnvironment.current)
        try database.writing { store in
            for queue in queues { try store.setPaused(queue, true) }
        }
    }
}

/// `jobq resume Q...`: undo `pause`.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Start jobs from a paused queue again.",
        discussion: """
            Examples:
              jobq resume images
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queues to resume.", valueName: "queue"))
    var queues: [String]

    func validate() throws {
        try QueueName.validate(queues)
    }

    func run() throws {
        let database = Database(global, environment: ProcessEnvironment.current)
        try database.writing { store in
            for queue in queues { try store.setPaused(queue, false) }
        }
    }
}

/// Checks on queue names given as arguments.
enum QueueName {
    /// At least one name, none empty.
    static func validate(_ names: [String]) throws {
        guard !names.isEmpty else { throw ValidationError("name at least one queue") }
        guard !names.contains("") else { throw ValidationError("a queue name cannot be empty") }
    }
}
