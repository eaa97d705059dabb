import ArgumentParser
import JobqCore
import JobqStore

/// `jobq add`: enqueue one job, or a batch of JSON lines, durably.
struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        // Only matters when `JobqMain` parses `add` on its own: a pseudo-command of `jobq`, so
        // that parse names `jobq add` and does not look for `--generate-completion-script`
        // among the job's own words. Under the root command (every other parse) it does nothing.
        _superCommandName: "jobq",
        abstract: "Enqueue a job (or a batch of jobs); prints the new job's id.",
        usage: """
            jobq add [<options>] [--] <command> [<argument> ...]
            jobq add [<options>] --batch <file>
            """,
        discussion: """
            The command starts at the first word that is not an option of add; that word and \
            everything after it, dashes included, is passed to the job verbatim. A "--" before the \
            command is accepted and needed only when the command itself starts with a dash. The job \
            is durable when jobq add returns; a running jobqd is woken at once.

            --at takes RFC 3339 (2030-01-02T03:04:05Z, 2030-01-02T05:04:05+02:00), local time \
            ('2030-01-02 03:04' or '2030-01-02 03:04:05'), a time of day (14:30 or 14:30:15: the \
            next one, today or tomorrow), or +DURATION from now (+90s, +5m).

            --batch reads one JSON object per line: {"cmd":["argv0","arg",...]} or \
            {"shell":"script"}, plus any of these keys: queue, priority, delay, at, timeout, \
            retries, backoff (durations as strings like "500ms" or numbers of seconds), after \
            (array of ids), env (object of strings), cwd. Options given on the command line are \
            the defaults for every line. Blank lines are skipped. All or nothing: a bad line \
            (invalid UTF-8 or JSON, an unknown key, a wrong type) is reported as "line N: ..." \
            with exit status 64, and nothing is enqueued. Output: one id per line, or with --json \
            {"jobs":[{"id":…,"queue":…,"state":…},…]}.

            Examples:
              jobq add -- ls -la
              jobq add --queue backups --retries 3 --timeout 1h rsync -a /src /dst
              jobq add --shell 'make && make install'
              jobq add --delay 10m --env MODE=fast -- ./run.sh --verbose
              jobq add --after 41 --json python3 report.py
              printf '%s\\n' '{"cmd":["echo","one"]}' '{"shell":"echo two","queue":"q"}' | jobq add --batch -
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        name: [.customShort("q"), .long], help: ArgumentHelp("The queue; created on first use.", valueName: "name"))
    var queue: String = JobRequest.defaultQueue

    @Option(
        name: [.customShort("p"), .long], parsing: .unconditional,
        help: "Higher runs first; equal priorities run in enqueue order.")
    var priority: Int = 0

    @Option(parsing: .unconditional, help: "Start no sooner than this long from now. \(durationHelpSuffix)")
    var delay: DurationArgument?

    @Option(help: ArgumentHelp("Start no sooner than this time (see below).", valueName: "time"))
    var at: String?

    @Option(
        parsing: .unconditional,
        help: "Stop a run that lasts longer; it counts as a failed attempt. \(durationHelpSuffix)")
    var timeout: DurationArgument?

    @Option(parsing: .unconditional, help: "How many failed attempts are retried.")
    var retries: Int = 0

    @Option(
        parsing: .unconditional,
        help: "The base of the exponential backoff between retries (default 1s). \(durationHelpSuffix)")
    var backoff: DurationArgument?

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Start only after job <id> succeeded (repeatable).", valueName: "id"))
    var after: [JobIDArgument] = []

    @Option(
        help: ArgumentHelp(
            "Set NAME=VALUE in the job's environment; a bare NAME passes on jobq's own value (repeatable).",
            valueName: "name=value"))
    var env: [String] = []

    @Option(help: ArgumentHelp("Run the job in this directory (default: the current one).", valueName: "dir"))
    var cwd: String?

    @Flag(help: "Run the command with /bin/sh -c (several words are joined with spaces).")
    var shell = false

    @Flag(help: "Print the job as JSON: {\"id\":…,\"queue\":…,\"state\":…}.")
    var json = false

    @Option(help: ArgumentHelp("Enqueue one job per JSON line of <file> (- for stdin).", valueName: "file"))
    var batch: String?

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The command and its arguments, passed verbatim.", valueName: "command"))
    var words: [String] = []

    /// The command words without the optional leading `--`.
    private var commandWords: [String] {
        words.first == "--" ? Array(words.dropFirst()) : words
    }

    func validate() throws {
        // The passthrough argument captures a leading --help too; it still means help.
        if words.first == "--help" || words.first == "-h" { throw CleanExit.helpRequest(Self.self) }
        if let first = words.first, first != "--", first.hasPrefix("-"), first.count > 1 {
            throw ValidationError(
                "unknown option '\(first.displaySafe)' for add (put -- before a command that starts with a dash)")
        }
        if batch != nil {
            guard words.isEmpty else { throw ValidationError("give either a command or --batch, not both") }
            guard !shell else { throw ValidationError("--shell applies to one command; in --batch use \"shell\" keys") }
        } else {
            guard !commandWords.isEmpty else {
                throw ValidationError("missing command: jobq add [<options>] [--] <command> [<argument> ...]")
            }
        }
        if delay != nil, at != nil { throw ValidationError("give --delay or --at, not both") }
        if let at {
            do {
                _ = try TimeText.parse(at, now: .now())
            } catch {
                throw ValidationError(error.description)
            }
        }
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more") }
        do {
            _ = try EnvironmentAssignment.parse(env, from: ProcessEnvironment.current)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let environment = ProcessEnvironment.current
        let now = Timestamp.now()
        let currentDirectory = FileSystem.currentDirectory()
        var defaults = JobSpec(command: shell ? .shell(commandWords.joined(separator: " ")) : .argv(commandWords))
        defaults.queue = queue
        defaults.priority = priority
        if let delay { defaults.start = .delay(delay.duration) }
        if let at { defaults.start = .at(try TimeText.parse(at, now: now)) }
        defaults.timeout = timeout?.duration
        defaults.retries = retries
        if let backoff { defaults.backoff = backoff.duration }
        defaults.dependencies = after.map(\.id)
        defaults.environment = try EnvironmentAssignment.parse(env, from: environment)
        defaults.workingDirectory = cwd

        // Everything is parsed and checked before the database is opened.
        var lines: [Int?] = []
        var requests: [JobRequest] = []
        if let batch {
            let input = try BatchInput.read(batch)
            let specs = try BatchParser.parse(input, defaults: defaults, now: now)
            lines.reserveCapacity(specs.count)
            requests.reserveCapacity(specs.count)
            for (line, spec) in specs {
                do throws(CLIError) {
                    requests.append(try spec.request(now: now, currentDirectory: currentDirectory))
                } catch {
                    throw error.prefixed("line \(line): ")
                }
                lines.append(line)
            }
        } else {
            requests = [try defaults.request(now: now, currentDirectory: currentDirectory)]
            lines = [nil]
        }
        let database = try Database(global, environment: environment)
        // No database yet means no job for --after to name: fail without creating one.
        if let dependency = requests.lazy.flatMap(\.dependencies).first, !FileSystem.exists(database.path) {
            throw Self.dependencyFailure(dependency, requests: requests, lines: lines, database: database)
        }
        let store = try database.openCreating()
        let jobs: [Job]
        do {
            jobs = try store.assumeIsolated { store in try store.enqueue(requests, now: now) }
        } catch StoreError.dependencyNotFound(let id) {
            throw Self.dependencyFailure(id, requests: requests, lines: lines, database: database)
        } catch {
            throw database.failure(error)
        }
        OutputStream.standardOutput.write(render(jobs))
        // Enqueued after a dependency that failed or was cancelled: it will never run, say so.
        for job in jobs where job.state == .cancelled {
            let reason = (job.error ?? "a dependency did not succeed").displaySafe
            OutputStream.standardError.write("jobq: job \(job.id) was cancelled at once: \(reason)\n")
        }
        let waiting = jobs.count { $0.state == .pending }
        if waiting > 0, DaemonNote.isDue(for: database) {
            DaemonNote.write(
                for: database, waiting == 1 ? "the job waits until one starts" : "the jobs wait until one starts")
        }
    }

    private func render(_ jobs: [Job]) -> [UInt8] {
        if json {
            let objects = jobs.map { job in
                JSONValue.object([
                    JSONMember("id", .integer(job.id)), JSONMember("queue", .string(job.queue)),
                    JSONMember("state", .string(job.state.rawValue)),
                ])
            }
            var output = (batch == nil ? objects[0] : .object([JSONMember("jobs", .array(objects))])).serialized()
            output.append(UInt8(ascii: "\n"))
            return output
        }
        var output: [UInt8] = []
        output.reserveCapacity(jobs.count * 8)
        for job in jobs {
            output.append(contentsOf: String(job.id).utf8)
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }

    /// `--after` named a job that does not exist: say which, and which batch line.
    private static func dependencyFailure(
        _ id: JobID, requests: [JobRequest], lines: [Int?], database: Database
    ) -> CLIError {
        let reason = "no job \(id) in \(database.path) (named by --after); nothing was enqueued"
        if let index = requests.firstIndex(where: { $0.dependencies.contains(id) }), let line = lines[index] {
            return .failed("line \(line): " + reason)
        }
        return .failed(reason)
    }
}

extension CLIError {
    /// The same failure with `prefix` before its message (e.g. `line 3: `).
    func prefixed(_ prefix: String) -> CLIError {
        switch self {
        case .usage(let message): .usage(prefix + message)
        case .failed(let message): .failed(prefix + message)
        case .timedOut(let message): .timedOut(prefix + message)
        }
    }
}
