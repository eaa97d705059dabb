import ArgumentParser
import JobqCore
import JobqStore

/// `jobq queue`: queue settings (`set`, `show`).
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Show or change queue settings (stored in the database, applied live by jobqd).",
        subcommands: [QueueSet.self, QueueShow.self],
        defaultSubcommand: QueueShow.self
    )
}

/// `jobq queue set Q ...`.
struct QueueSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change a queue's concurrency, capacity or idle timeout; creates the queue if needed.",
        discussion: """
            "default" resets a setting to follow jobqd's own default (e.g. --concurrency default).

            Examples:
              jobq queue set images --concurrency 4 --capacity 100
              jobq queue set images --idle-timeout 30s
              jobq queue set images --concurrency default
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The queue.", valueName: "queue"))
    var queue: String

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("How many of its jobs run at once (or \"default\").", valueName: "n"))
    var concurrency: Setting<PositiveInt>?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("How many due jobs jobqd holds in memory for it (or \"default\").", valueName: "n"))
    var capacity: Setting<PositiveInt>?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "How long an idle worker waits before it ends (or \"default\"). \(durationHelpSuffix)",
            valueName: "duration"))
    var idleTimeout: Setting<DurationArgument>?

    func validate() throws {
        try QueueName.validate([queue])
        guard concurrency != nil || capacity != nil || idleTimeout != nil else {
            throw ValidationError("give at least one of --concurrency, --capacity, --idle-timeout")
        }
    }

    func run() throws {
        let database = try Database(global, environment: ProcessEnvironment.current)
        try database.writing { store in
            try store.updateQueue(
                queue,
                concurrency: concurrency.map { $0.value?.value },
                capacity: capacity.map { $0.value?.value },
                idleTimeout: idleTimeout.map { $0.value?.duration })
        }
    }
}

/// `jobq queue show [Q]` (also plain `jobq queue`).
struct QueueShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the settings of every queue, or of one.",
        discussion: """
            "-" (null in JSON) means the setting follows jobqd's default.

            Examples:
              jobq queue show
              jobq queue show images --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Only this queue.", valueName: "queue"))
    var queue: String?

    @Flag(help: "Print {\"queues\":[{\"name\",\"paused\",\"concurrency\",\"capacity\",\"idle_timeout_ms\"}]}.")
    var json = false

    func validate() throws {
        try QueueName.validate(queue)
    }

    func run() throws {
        let environment = ProcessEnvironment.current
        let database = try Database(global, environment: environment)
        let settings =
            try database.reading { store in
                try store.queueSettings().filter { queue == nil || $0.name == queue }
            } ?? []
        let stdout = OutputStream.standardOutput
        if json {
            let queues = settings.map { setting in
                JSONValue.object([
                    JSONMember("name", .string(setting.name)),
                    JSONMember("paused", .bool(setting.paused)),
                    JSONMember("concurrency", .integer(setting.concurrency)),
                    JSONMember("capacity", .integer(setting.capacity)),
                    JSONMember("idle_timeout_ms", .integer(setting.idleTimeout?.wholeMilliseconds)),
                ])
            }
            var output = JSONValue.object([JSONMember("queues", .array(queues))]).serialized()
            output.append(UInt8(ascii: "\n"))
            stdout.write(output)
            return
        }
        guard !settings.isEmpty else {
            stdout.write(queue == nil ? "no queues yet in \(database.path)\n" : "no queue \(queue!.displaySafe)\n")
            return
        }
        var table = Table([
            .init("QUEUE"), .init("PAUSED"), .init("CONCURRENCY", .right), .init("CAPACITY", .right),
            .init("IDLE TIMEOUT", .right),
        ])
        for setting in settings {
            table.rows.append([
                Table.Cell(setting.name),
                setting.paused ? Table.Cell("paused", .yellow) : Table.Cell("no"),
                Table.Cell(setting.concurrency.map(String.init) ?? "-"),
                Table.Cell(setting.capacity.map(String.init) ?? "-"),
                Table.Cell(setting.idleTimeout.map(DurationText.format) ?? "-"),
            ])
        }
        stdout.write(table.render(color: stdout.usesColor(environment: environment)))
    }
}

/// A queue setting's new value: a value, or `default` to follow jobqd's default.
struct Setting<Value: ExpressibleByArgument & Sendable>: ExpressibleByArgument, Sendable {
    /// The value; `nil` for `default`.
    var value: Value?

    init?(argument: String) {
        if argument == "default" {
            value = nil
        } else {
            guard let value = Value(argument: argument) else { return nil }
            self.value = value
        }
    }
}
