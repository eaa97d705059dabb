import ArgumentParser
import JobqCore
import JobqStore

/// `jobq show ID`: everything about one job.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one job: command, state, attempts, exit code, times, error, output tail.",
        discussion: """
            Examples:
              jobq show 42
              jobq show 42 --json | jq .exit_code
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job.", valueName: "id"))
    var id: JobIDArgument

    @Flag(help: "Print the job as one JSON object (keys: the jobs table's columns, plus command, stdout, stderr).")
    var json = false

    func run() throws {
        let environment = ProcessEnvironment.current
        let database = try Database(global, environment: environment)
        let id = id.id
        let found = try database.reading { store in try store.job(id) }
        guard let found, let job = found else { throw database.jobNotFound(id) }
        let stdout = OutputStream.standardOutput
        if json {
            var output = job.jsonObject.serialized()
            output.append(UInt8(ascii: "\n"))
            stdout.write(output)
        } else {
            stdout.write(job.humanDescription(now: Timestamp.now(), color: stdout.usesColor(environment: environment)))
        }
    }
}
