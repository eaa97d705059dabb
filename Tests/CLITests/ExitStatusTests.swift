import Foundation
import JobqSQLite
import JobqTestSupport
import Testing

@Suite("exit statuses and error messages")
struct ExitStatusTests {
    static let usageErrors: [[String]] = [
        ["frobnicate"],
        ["--bogus", "status"],
        ["status", "--bogus"],
        ["add"],
        ["add", "--"],
        ["add", "--bogus", "ls"],
        ["add", "--timeout", "5x", "ls"],
        ["add", "--timeout", "-1s", "ls"],
        ["add", "--timeout", "0", "ls"],
        ["add", "--delay", "soon", "ls"],
        ["add", "--backoff", "1y", "ls"],
        ["add", "--retries", "-1", "ls"],
        ["add", "--retries", "many", "ls"],
        ["add", "--priority", "high", "ls"],
        ["add", "--after", "0", "ls"],
        ["add", "--after", "x", "ls"],
        ["add", "--at", "tomorrow", "ls"],
        ["add", "--at", "2030-02-30 10:00", "ls"],
        ["add", "--delay", "1s", "--at", "+1m", "ls"],
        ["add", "--env", "=x", "ls"],
        ["add", "--env", "JOBQ_SURELY_UNSET_VARIABLE", "ls"],
        ["add", "--batch", "-", "ls"],
        ["add", "--shell", "--batch", "-"],
        ["add", "--", ""],
        ["add", "--shell", "  "],
        ["add", "--queue", "", "ls"],
        ["list", "--limit", "ten"],
        ["list", "--limit", "-1"],
        ["list", "--state", "done"],
        ["show"],
        ["show", "abc"],
        ["show", "-3"],
        ["logs", "x"],
        ["join", "--timeout", "soon"],
        ["wait"],
        ["wait", "1", "--timeout", "1 s"],
        ["cancel"],
        ["cancel", "1", "--queue", "q"],
        ["retry"],
        ["pause"],
        ["resume", ""],
        ["pause", "a", "b\nc"],
        ["queue", "set", "x\ty", "--capacity", "2"],
        ["queue", "set", "q"],
        ["queue", "set", "q", "--concurrency", "0"],
        ["queue", "set", "q", "--concurrency", "-1"],
        ["queue", "set", "q", "--capacity", "lots"],
        ["queue", "set", "q", "--idle-timeout", "forever"],
        ["purge", "--state", "pending"],
        ["purge", "--older-than", "old"],
        ["status", "--db", ""],
        ["--db", "", "add", "true"],
        ["--db=", "list"],
        ["help", "canel"],
        ["status", "--queue", ""],
        ["list", "--queue", ""],
        ["join", ""],
        ["queue", "show", ""],
        ["cancel", "--queue", ""],
        ["help", "queue", "sett"],
    ]

    @Test("usage errors exit 64 with a hint, and never create the database", arguments: usageErrors)
    func usageError(arguments: [String]) async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.run(arguments, stdin: [])
            #expect(result.exitStatus == 64, "\(arguments): \(result)")
            #expect(!result.stderrText.isEmpty)
            #expect(result.stdout.isEmpty)
            #expect(!cli.databaseExists, "\(arguments) created the database")
        }
    }

    @Test("help and completion scripts exit 0 on stdout")
    func helpAndCompletions() async throws {
        try await withCLI { (cli: CLI) async throws in
            let help = try await cli.succeed(["--help"])
            #expect(help.stdoutText.contains("USAGE: jobq"))
            for command in [
                "add", "status", "list", "show", "logs", "join", "wait", "cancel", "retry", "pause", "resume",
                "purge",
            ] {
                let result = try await cli.succeed([command, "--help"])
                #expect(result.stdoutText.contains("Examples:"), "\(command) --help has no example")
            }
            #expect(try await cli.succeed(["queue", "set", "--help"]).stdoutText.contains("Examples:"))
            #expect(try await cli.succeed(["help", "queue", "set"]).stdoutText.contains("Examples:"))
            #expect(try await cli.succeed(["help", "cancel"]).stdoutText.contains("USAGE: jobq cancel"))
            let bash = try await cli.succeed(["--generate-completion-script", "bash"])
            #expect(bash.stdoutText.contains("_jobq"))
            #expect(try await cli.succeed(["--version"]).stdoutText.isEmpty == false)
            #expect(!cli.databaseExists)
        }
    }

    /// `jobq add` is parsed by `Add` alone first (it is the call made in loops); what that parse
    /// rejects must still read as the root's messages, naming `jobq add`.
    @Test("add's usage errors, help and completions read as the full command's")
    func addMessagesNameTheFullCommand() async throws {
        try await withCLI { (cli: CLI) async throws in
            for arguments in [["add", "--bogus", "ls"], ["add", "--retries", "many", "ls"]] {
                let result = try await cli.run(arguments)
                #expect(result.exitStatus == 64, "\(arguments): \(result)")
                #expect(result.stderrText.contains("See 'jobq add --help' for more information."), "\(arguments)")
            }
            let help = try await cli.succeed(["add", "--help"])
            #expect(help.stdoutText.contains("USAGE: jobq add [<options>]"))
            // The help lists --version, and it works as after any other command.
            #expect(help.stdoutText.contains("--version"))
            let version = try await cli.succeed(["--version"]).stdoutText
            for arguments in [["add", "--version"], ["status", "--version"], ["add", "-q", "x", "--version"]] {
                #expect(try await cli.succeed(arguments).stdoutText == version, "\(arguments)")
            }
            // Paths where the library returns its help command instead of throwing.
            for arguments in [["add", "-qh", "echo"], ["add", "--db", "", "--help"], ["--db", "", "add", "-h"]] {
                #expect(try await cli.succeed(arguments).stdoutText == help.stdoutText, "\(arguments)")
            }
            let completion = try await cli.succeed(["add", "--generate-completion-script", "bash"])
            #expect(completion.stdoutText.contains("_jobq_add"))
            #expect(!cli.databaseExists)
        }
    }

    static let unknownJob: [[String]] = [
        ["show", "42"], ["show", "42", "--json"], ["logs", "42"], ["wait", "42"], ["cancel", "42"], ["retry", "42"],
    ]

    @Test("an unknown job id exits 1 with one line naming the database", arguments: unknownJob)
    func unknownJobID(arguments: [String]) async throws {
        try await withCLI { (cli: CLI) async throws in
            // Without a database, and with one that lacks the job.
            for round in 0..<2 {
                let result = try await cli.run(arguments)
                #expect(result.exitStatus == 1, "\(arguments): \(result)")
                #expect(result.stderrText == "jobq: no job 42 in \(cli.database)\n", "round \(round)")
                if round == 0 {
                    #expect(!cli.databaseExists)
                    _ = try await cli.add(["true"])
                }
            }
        }
    }

    @Test("reading commands read an empty file as an empty database and leave it empty; add fills it")
    func emptyDatabaseFile() async throws {
        try await withCLI { (cli: CLI) async throws in
            #expect(FileManager.default.createFile(atPath: cli.database, contents: Data()))
            for arguments in [["status", "--json"], ["list", "--json"], ["join"], ["queue", "show"]] {
                try await cli.succeed(arguments)
            }
            let unknown = try await cli.run(["wait", "1"])
            #expect(unknown.stderrText == "jobq: no job 1 in \(cli.database)\n", "\(unknown)")
            let size = { try FileManager.default.attributesOfItem(atPath: cli.database)[.size] as? Int }
            #expect(try size() == 0)
            // A second name is refused as for any database, empty or not.
            #expect(link(cli.database, cli.directory + "/second.db") == 0)
            let linked = try await cli.run(["status"])
            #expect(linked.exitStatus == 1 && linked.stderrText.contains("hard links"), "\(linked)")
            #expect(unlink(cli.directory + "/second.db") == 0)
            #expect(try await cli.add(["true"]) == 1)
            #expect(try size() ?? 0 > 0)
        }
    }

    @Test("--db works before and after the command name, over $JOBQ_DB")
    func databaseOption() async throws {
        try await withCLI { (cli: CLI) async throws in
            let other = cli.directory + "/other.db"
            #expect(try await cli.succeed(["--db", other, "add", "true"]).stdoutText == "1\n")
            #expect(try await cli.succeed(["add", "--db", other, "true"]).stdoutText == "2\n")
            #expect(try await cli.succeed(["--db=" + other, "queue", "set", "q", "--capacity", "5"]).stdout.isEmpty)
            #expect(!cli.databaseExists)
            let status = try await cli.succeed(["status", "--json", "--db", other])
            #expect(status.stdoutText.contains("\"pending\":2"))
            // Given twice, before or after the command name, the last --db counts.
            for arguments in [
                ["--db", "/nowhere.db", "--db", other, "status", "--json"],
                ["status", "--json", "--db", "/nowhere.db", "--db", other],
            ] {
                #expect(try await cli.succeed(arguments).stdoutText == status.stdoutText, "\(arguments)")
            }
            #expect(status.stdoutText.contains("\"capacity\":5"))
        }
    }

    @Test("a corrupt database file is reported in one line and left untouched")
    func corruptDatabase() async throws {
        try await withCLI { (cli: CLI) async throws in
            let garbage = Array(repeating: UInt8(ascii: "x"), count: 8192)
            _ = FileManager.default.createFile(atPath: cli.database, contents: Data(garbage))
            for arguments in [["add", "true"], ["status"], ["list"], ["show", "1"], ["join"]] {
                let result = try await cli.run(arguments)
                #expect(result.exitStatus == 1, "\(arguments): \(result)")
                #expect(result.stderrText.hasPrefix("jobq: "))
                #expect(result.stderrText.contains(cli.database))
                #expect(result.stderrText.split(separator: "\n").count == 1)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: cli.database)) == Data(garbage))
        }
    }

    @Test("another program's SQLite database is refused by every command and left untouched")
    func foreignDatabase() async throws {
        try await withCLI { (cli: CLI) async throws in
            try Connection(path: cli.database).execute("CREATE TABLE notes (text TEXT)")
            let before = try Data(contentsOf: URL(fileURLWithPath: cli.database))
            for arguments in [["add", "true"], ["status"], ["list"], ["pause", "q"], ["join"]] {
                let result = try await cli.run(arguments)
                #expect(result.exitStatus == 1, "\(arguments): \(result)")
                #expect(
                    result.stderrText == "jobq: \(cli.database) is not a jobq database (a SQLite database of "
                        + "something else); it was left untouched\n")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: cli.database)) == before)
        }
    }

    @Test("output that cannot be written (a full disk) exits 1 saying so; a closed pipe ends quietly")
    func unwritableOutput() async throws {
        try await withCLI { (cli: CLI) async throws in
            func shell(_ script: String) async throws -> ProcessResult {
                try await runProcess("/bin/sh", ["-c", script], environment: cli.environment(), timeout: .seconds(60))
            }
            let jobq = "'\(CLI.binary)'"
            // The jobs were enqueued all the same, and the message says so: only the ids were lost.
            let add = try await shell("\(jobq) add true >/dev/full")
            #expect(add.exitStatus == 1, "\(add)")
            #expect(
                add.stderrText
                    == "jobq: job 1 was enqueued, but the output cannot be written: No space left on device\n")
            let batch = try await shell(
                "printf '{\"cmd\":[\"a\"]}\\n{\"cmd\":[\"b\"]}\\n' | \(jobq) add --batch - >/dev/full")
            #expect(batch.exitStatus == 1, "\(batch)")
            #expect(
                batch.stderrText.hasPrefix("jobq: 2 jobs were enqueued, but the output cannot be written"), "\(batch)")
            #expect(try await cli.status()["default"]?["pending"] as? Int == 3)
            for command in ["list", "status --json"] {
                let full = try await shell("\(jobq) \(command) >/dev/full")
                #expect(full.exitStatus == 1, "\(command): \(full)")
                #expect(full.stderrText == "jobq: cannot write the output: No space left on device\n", "\(command)")
            }

            // Far more than a pipe holds, to a reader that leaves after one byte; with SIGPIPE ignored
            // (as some parents do) the write fails with EPIPE instead of killing jobq.
            let lines = (0..<2000).map { #"{"cmd":["echo","\#($0)"]}"# }.joined(separator: "\n")
            try await cli.succeed(["add", "--batch", "-"], stdin: Array(lines.utf8))
            let script = "trap '' PIPE; \(jobq) list --limit 0 | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}"
            let piped = try await runProcess(
                "/bin/bash", ["-c", script], environment: cli.environment(), timeout: .seconds(60))
            #expect(piped.stdoutText == "1\n" && piped.stderrText.isEmpty, "\(piped)")
        }
    }

    @Test("a database path whose directory cannot exist is reported in one line")
    func unusableDirectory() async throws {
        try await withCLI { (cli: CLI) async throws in
            let file = cli.directory + "/plain-file"
            _ = FileManager.default.createFile(atPath: file, contents: Data())
            for database in [file + "/jobq.db", file + "/deeper/jobq.db", "/proc/jobq-test/jobq.db"] {
                let result = try await cli.run(["add", "--db", database, "true"])
                #expect(result.exitStatus == 1, "\(database): \(result)")
                #expect(result.stderrText.hasPrefix("jobq: "))
                #expect(result.stderrText.split(separator: "\n").count == 1)
            }
        }
    }

    /// The service's access model: a user outside group `jobq` cannot enter /var/lib/jobq. That
    /// must be an error, not an empty (or a fresh personal) database.
    @Test(
        "a database the user may not look at is an error, not an empty database",
        .enabled(if: getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func databaseTheUserMayNotSee() async throws {
        try await withCLI { (cli: CLI) async throws in
            let shared = cli.directory + "/shared"
            #expect(mkdir(shared, 0o700) == 0)
            let database = shared + "/jobq.db"
            try await cli.succeed(["add", "--db", database, "true"])
            for arguments in [["status"], ["list"], ["add", "true"]] {
                let result: ProcessResult
                if getuid() == 0 {
                    // Root may look anywhere: run as nobody.
                    result = try await runProcess(
                        "/usr/bin/setpriv",
                        ["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary, "--db", database] + arguments,
                        environment: cli.environment(), currentDirectory: "/", timeout: .seconds(60))
                } else {
                    #expect(chmod(shared, 0) == 0)
                    defer { chmod(shared, 0o700) }
                    result = try await cli.run(["--db", database] + arguments, in: "/")
                }
                #expect(result.exitStatus == 1, "\(arguments): \(result)")
                #expect(result.stderrText.hasPrefix("jobq: ") && result.stderrText.contains("ermission denied"))
                #expect(result.stderrText.split(separator: "\n").count == 1)
            }
        }
    }

    @Test("reading commands on a missing database read it as empty and do not create it")
    func missingDatabaseReadsEmpty() async throws {
        try await withCLI { (cli: CLI) async throws in
            #expect(
                try await cli.succeed(["status", "--json"]).stdoutText
                    == "{\"queues\":[],\"daemon\":{\"running\":false,\"pid\":null}}\n")
            #expect(try await cli.succeed(["list", "--json"]).stdoutText == "[]\n")
            #expect(try await cli.succeed(["queue", "show", "--json"]).stdoutText == "{\"queues\":[]}\n")
            #expect(try await cli.succeed(["join"]).stdout.isEmpty)
            #expect(try await cli.succeed(["purge"]).stdoutText == "purged 0 jobs\n")
            #expect(try await cli.succeed(["cancel", "--queue", "q"]).stdoutText == "cancelled 0 jobs in queue q\n")
            #expect(!cli.databaseExists)
        }
    }
}
