import ArgumentParser
import JobqCore
import JobqStore

/// `jobq status`: per queue, how many jobs are in each state, and its settings.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether jobqd serves the database, and each queue's job counts, pause state and settings.",
        discussion: """
            The first line says whether a jobqd serves this database (with its pid): without one, \
            pending jobs wait until one starts. CONCURRENCY and CAPACITY show the queue's own \
            setting, or "-" (null in JSON) where it follows the daemon's default.

            Examples:
              jobq status
              jobq status --queue images --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("q"), .long], help: ArgumentHelp("Only this queue.", valueName: "name"))
    var queue: String?

    @Flag(
        help: """
            Print {"queues":[{"name","pending","running",…,"paused","concurrency","capacity"}],\
            "daemon":{"running","pid"}}.
            """)
    var json = false

    func validate() throws {
        try QueueName.validate(queue)
    }

    func run() throws {
        let environment = ProcessEnvironment.current
        let database = try Database(global, environment: environment)
        let stats =
            try database.reading { store in
                try store.queueStats(queue: queue)
            } ?? []
        let daemon = DaemonLock.holder(databasePath: database.path)
        if json {
            let queues = stats.map { stat in
                JSONValue.object([
                    JSONMember("name", .string(stat.name)),
                    JSONMember("pending", .integer(stat.pending)),
                    JSONMember("running", .integer(stat.running)),
                    JSONMember("succeeded", .integer(stat.succeeded)),
                    JSONMember("failed", .integer(stat.failed)),
                    JSONMember("cancelled", .integer(stat.cancelled)),
                    JSONMember("paused", .bool(stat.paused)),
                    JSONMember("concurrency", .integer(stat.concurrency)),
                    JSONMember("capacity", .integer(stat.capacity)),
                ])
            }
            var output = JSONValue.object([
                JSONMember("queues", .array(queues)),
                JSONMember(
                    "daemon",
                    .object([
                        JSONMember("running", .bool(daemon != nil)), JSONMember("pid", .integer(daemon.map(Int.init))),
                    ])),
            ]).serialized()
            output.append(UInt8(ascii: "\n"))
            OutputStream.standardOutput.write(output)
            return
        }
        let stdout = OutputStream.standardOutput
        stdout.write(
            daemon.map { "jobqd (pid \($0)) serves \(database.path.displaySafe)\n" }
                ?? "no jobqd serves \(database.path.displaySafe): pending jobs wait until one starts\n")
        guard !stats.isEmpty else {
            stdout.write(
                queue == nil ? "no queues yet in \(database.path.displaySafe)\n" : "no queue \(queue!.displaySafe)\n")
            return
        }
        let color = stdout.usesColor(environment: environment)
        var table = Table([
            .init("QUEUE"), .init("PENDING", .right), .init("RUNNING", .right), .init("SUCCEEDED", .right),
            .init("FAILED", .right), .init("CANCELLED", .right), .init("PAUSED"), .init("CONCURRENCY", .right),
            .init("CAPACITY", .right),
        ])
        for stat in stats {
            table.rows.append([
                Table.Cell(stat.name),
                Table.Cell(String(stat.pending)),
                Table.Cell(String(stat.running), stat.running > 0 ? .cyan : .plain),
                Table.Cell(String(stat.succeeded)),
                Table.Cell(String(stat.failed), stat.failed > 0 ? .red : .plain),
                Table.Cell(String(stat.cancelled)),
                stat.paused ? Table.Cell("paused", .yellow) : Table.Cell("no"),
                Table.Cell(stat.concurrency.map(String.init) ?? "-"),
                Table.Cell(stat.capacity.map(String.init) ?? "-"),
            ])
        }
        stdout.write(table.render(color: color))
    }
}
