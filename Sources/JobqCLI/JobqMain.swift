import ArgumentParser
import JobqCore

/// The entry point of the `jobq` executable: parses the arguments, runs the command and
/// maps every outcome to the documented exit status (SPEC §4): 0 success, 1 the operation
/// failed (one line `jobq: <reason>` on stderr), 64 usage error (with the usage hint),
/// 124 `join`/`wait` timed out.
public enum JobqMain {
    /// Runs `jobq` with the arguments the process was started with and returns the exit status.
    /// An argument that is not valid UTF-8 is a usage error: jobq keeps commands and names as
    /// text, and would otherwise pass on other bytes than it was given.
    public static func runWithProcessArguments() -> Int32 {
        do {
            return run(arguments: try ProcessArguments.decoded())
        } catch {
            OutputStream.standardError.write(
                "jobq: argument \(error.index) is not valid UTF-8; jobq keeps commands as text and cannot pass "
                    + "these bytes on unchanged\n")
            return ExitStatus.usage
        }
    }

    /// Runs `jobq` with `arguments` (without the program name) and returns the exit status.
    public static func run(arguments: [String]) -> Int32 {
        // `jobq --db PATH <command> ...` is accepted as well as `jobq <command> --db PATH ...`;
        // given twice, the last one counts, as for any option. So is `jobq queue --db PATH set …`:
        // `show` is `queue`'s default subcommand, and would take `set` for the name of a queue.
        var arguments = arguments
        var leadingDatabase = takeDatabaseOptions(from: &arguments, at: 0)
        if arguments.first == QueueCommand.configuration.commandName,
            let beforeSubcommand = takeDatabaseOptions(from: &arguments, at: 1)
        {
            leadingDatabase = beforeSubcommand
        }
        return GlobalOptions.$leadingDatabase.withValue(leadingDatabase) {
            execute(arguments)
        }
    }

    /// Removes the `--db PATH` and `--db=PATH` options that start at `index`, and returns the
    /// last one's path (`nil` when there is none).
    static func takeDatabaseOptions(from arguments: inout [String], at index: Int) -> String? {
        var database: String?
        while index < arguments.count {
            if arguments[index] == "--db", index + 1 < arguments.count {
                database = arguments[index + 1]
                arguments.removeSubrange(index...(index + 1))
            } else if arguments[index].hasPrefix("--db=") {
                database = String(arguments[index].dropFirst("--db=".count))
                arguments.remove(at: index)
            } else {
                break
            }
        }
        return database
    }

    private static func execute(_ arguments: [String]) -> Int32 {
        // `jobq add WORD…`, the call scripts make in loops, has nothing for the parser to read.
        if let invocation = AddInvocation(plainArguments: arguments) {
            return complete { try invocation.run(now: .now(), environment: ProcessEnvironment.current) }
        }
        var command: any ParsableCommand
        do {
            command = try parse(arguments)
        } catch {
            return report(error)
        }
        return complete { try command.run() }
    }

    /// Runs a parsed command and returns its exit status: 0, or the status of its failure
    /// (with the one-line reason on stderr), or 1 when its output could not be written.
    private static func complete(_ run: () throws -> Void) -> Int32 {
        do {
            try run()
            switch OutputStream.standardOutputFailure {
            case nil:
                return ExitStatus.success
            case .closedPipe:
                return ExitStatus.failure
            case .error(let reason):
                OutputStream.standardError.write("jobq: cannot write the output: \(reason)\n")
                return ExitStatus.failure
            }
        } catch let error as CLIError {
            OutputStream.standardError.write("jobq: \(error.description.displaySafe)\n")
            return error.exitStatus
        } catch {
            return report(error)
        }
    }

    /// Parses `arguments` from the root command. `jobq add` with options is parsed by `Add`
    /// alone first (`parseAdd`; a pseudo-command of `jobq`), which skips the root's subcommand
    /// lookup and completion-script check, a seventh of the call's time. Whatever that parse does
    /// not accept (help, a usage error, a completion request) is parsed again from the root, so
    /// messages and exit statuses stay the root's. The job ids of `cancel`, `retry` and `wait`
    /// are packed first (`JobIDsArgument.packingRuns`).
    static func parse(_ arguments: [String]) throws -> any ParsableCommand {
        if arguments.first == Add.configuration.commandName, let add = parseAdd(Array(arguments.dropFirst())) {
            return add
        }
        if let name = arguments.first, takingJobIDs.contains(name) {
            return try JobqCommand.parseAsRoot(JobIDsArgument.packingRuns(in: arguments))
        }
        try checkHelpTopics(arguments)
        return try JobqCommand.parseAsRoot(arguments)
    }

    /// `jobq help WORD…` must name commands: the library shows the root's help, with status 0,
    /// for a word it does not know, so a typo (`jobq help canel`) would look like an answer.
    static func checkHelpTopics(_ arguments: [String]) throws {
        guard arguments.first == "help" else { return }
        var command: any ParsableCommand.Type = JobqCommand.self
        for word in arguments.dropFirst() where !word.hasPrefix("-") {
            guard
                let subcommand = command.configuration.subcommands.first(where: { $0.configuration.commandName == word }
                )
            else {
                throw ValidationError("Unknown command '\(word)'")
            }
            command = subcommand
        }
    }

    /// The commands whose job ids are packed (`JobIDsArgument.packingRuns`) before parsing.
    static let takingJobIDs = Set(
        [Cancel.configuration, Retry.configuration, Wait.configuration].compactMap(\.commandName))

    /// The arguments after `add` parsed as an `Add`, or `nil` for anything else. Only an `Add` is
    /// kept: on some paths (`add -qh x`) the library returns its help command rather than
    /// throwing, and help must come from the root, which adds `--version`.
    ///
    /// Every word from the command on is the command's, taken from `arguments` as given, which
    /// spares the library two things it does badly there:
    /// - It takes time quadratic in the number of words it collects into an array (each one
    ///   merges the set of input positions seen so far again): 20,000 words after an option took
    ///   7 s. So a long list is parsed up to its first `longList` words, which hold the options in
    ///   any real call; when those hold no command, the list is parsed whole.
    /// - It refuses a word that starts with three dashes (`echo ---`) wherever it is. So such
    ///   words reach it masked (a NUL first, which no argument can hold), and count only where
    ///   they are the command's arguments; anywhere else the list is parsed as given, and the
    ///   library's message stands.
    static func parseAdd(_ arguments: [String]) -> Add? {
        let masked = arguments.map { $0.hasPrefix("---") ? "\u{0}" + $0 : $0 }
        let head = Array(masked.prefix(longList))
        if var add = (try? Add.parseAsRoot(head)) as? Add, !add.words.isEmpty || head.count == arguments.count {
            let start = head.count - add.words.count
            // The library's passthrough words are the tail of what it read (checked, not assumed).
            if head[start...].elementsEqual(add.words),
                !masked[..<min(start + 1, masked.count)].contains(where: { $0.hasPrefix("\u{0}") })
            {
                add.words = Array(arguments[start...])
                return add
            }
        }
        return (try? Add.parseAsRoot(arguments)) as? Add
    }

    /// See `parseAdd`.
    static let longList = 128

    /// Prints an argument-parser outcome (help, version, a usage error with its hint) the
    /// way the library formats it, and returns its exit status (0 for help, 64 for usage).
    private static func report(_ error: any Error) -> Int32 {
        let message = JobqCommand.fullMessage(for: error)
        let status = JobqCommand.exitCode(for: error).rawValue
        if !message.isEmpty {
            (status == 0 ? OutputStream.standardOutput : OutputStream.standardError).write(message + "\n")
        }
        return status
    }
}

/// `jobq`: the root command; it only groups the subcommands.
struct JobqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobq",
        abstract: "Enqueue jobs for jobqd and watch them run.",
        discussion: """
            Every command takes --db PATH (before or after the command name); without it the \
            database is $JOBQ_DB, else /var/lib/jobq/jobq.db if it exists, else \
            $XDG_STATE_HOME/jobq/jobq.db (~/.local/state/jobq/jobq.db).

            jobq writes jobs straight into the SQLite database that the jobqd daemon runs them from, \
            so it works whether or not the daemon is running.

            Examples:
              jobq add -- make -j4 test
              jobq add --queue images --retries 3 convert in.png out.jpg
              jobq join images --progress
              jobq status

            Exit status: 0 success; 1 the operation failed; 64 usage error; 124 join/wait timed out.
            """,
        version: JobqVersion.current,
        subcommands: [
            Add.self, Status.self, List.self, Show.self, Logs.self, Join.self, Wait.self, Cancel.self, Retry.self,
            Pause.self, Resume.self, QueueCommand.self, Purge.self,
        ]
    )
}
