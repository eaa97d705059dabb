import ArgumentParser
import JobqCore
import JobqStore

/// `jobq list`: jobs, newest first.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs, newest first.",
        discussion: """
            Examples:
              jobq list
              jobq list --queue images --state failed
              jobq list --state failed --state cancelled
              jobq list --limit 0 --json | jq '.[].id'
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("q"), .long], help: ArgumentHelp("Only jobs of this queue.", valueName: "name"))
    var queue: String?

    @Option(name: [.customShort("s"), .long], help: "Only jobs in this state (repeat for several).")
    var state: [StateArgument] = []

    @Option(name: [.customShort("n"), .long], parsing: .unconditional, help: "At most this many jobs; 0 for all.")
    var limit: Int = 50

    @Flag(help: "Print a JSON array of job objects (the same objects as show --json).")
    var json = false

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or more") }
        try QueueName.validate(queue)
    }

    func run() throws {
        let environment = ProcessEnvironment.current
        let database = try Database(global, environment: environment)
        let jobs =
            try database.reading { store in
                try store.jobs(queue: queue, states: Set(state.map(\.state)), limit: limit == 0 ? nil : limit)
            } ?? []
        let stdout = OutputStream.standardOutput
        if json {
            var output = JSONValue.array(jobs.map(\.jsonObject)).serialized()
            output.append(UInt8(ascii: "\n"))
            stdout.write(output)
            return
        }
        guard !jobs.isEmpty else { return }
        let now = Timestamp.now()
        var table = Table([
            .init("ID", .right), .init("QUEUE"), .init("STATE"), .init("PRI", .right), .init("TRIES", .right),
            .init("EXIT", .right), .init("ENQUEUED"), .init("COMMAND"),
        ])
        for job in jobs {
            table.rows.append([
                Table.Cell(String(job.id)),
                Table.Cell(job.queue),
                Table.Cell(job.state.rawValue, Job.style(of: job.state)),
                Table.Cell(String(job.priority)),
                Table.Cell(String(job.attempts)),
                Table.Cell(job.exitCode.map(String.init) ?? job.signal.map { "sig\($0)" } ?? "-"),
                Table.Cell(TimeText.relative(job.enqueuedAt, now: now)),
                Table.Cell(job.command.displayString),
            ])
        }
        stdout.write(table.render(color: stdout.usesColor(environment: environment), width: stdout.terminalColumns))
    }
}
