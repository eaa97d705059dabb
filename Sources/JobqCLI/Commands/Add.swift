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
        // The passthrough argument captures a leading --help or --version too; they keep their meaning.
        if words.first == "--help" || words.first == "-h" { throw CleanExit.helpRequest(Self.self) }
        // As `jobq status --version` does, and as add's help lists it.
        if words.first == "--version" { throw CleanExit.message(JobqVersion.current) }
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
        try invocation(now: now, environment: environment).run(now: now, environment: environment)
    }

    /// What these options ask for; `now` is the instant `--at +90s` counts from.
    func invocation(now: Timestamp, environment: [String: String]) throws -> AddInvocation {
        var job = JobSpec(command: shell ? .shell(commandWords.joined(separator: " ")) : .argv(commandWords))
        job.queue = queue
        job.priority = priority
        if let delay { job.start = .delay(delay.duration) }
        if let at { job.start = .at(try TimeText.parse(at, now: now)) }
        job.timeout = timeout?.duration
        job.retries = retries
        if let backoff { job.backoff = backoff.duration }
        job.dependencies = after.map(\.id)
        job.environment = try EnvironmentAssignment.parse(env, from: environment)
        job.workingDirectory = cwd
        return AddInvocation(job: job, batch: batch, json: json, database: global.db)
    }
}
