import Foundation
import JobqTestSupport
import Testing

@Suite("jobq add")
struct AddTests {
    /// util-linux's script(1), which runs a command on a pseudo-terminal.
    static let script = "/usr/bin/script"

    @Test(
        "on a terminal with no jobqd serving the database, add, join and wait say so; into a pipe they do not",
        .enabled(if: FileManager.default.isExecutableFile(atPath: script)))
    func addTellsAPersonThatNoDaemonRuns() async throws {
        try await withCLI { (cli: CLI) async throws in
            /// `jobq ARGUMENTS` with a pseudo-terminal as stdout and stderr (both read as stdout).
            func onTerminal(_ arguments: String) async throws -> ProcessResult {
                try await runProcess(
                    Self.script, ["-qec", "'\(CLI.binary)' \(arguments)", "/dev/null"], environment: cli.environment())
            }
            #expect(try await cli.succeed(["add", "true"]).stderr.isEmpty)
            let added = try await onTerminal("add true")
            #expect(added.exitStatus == 0, "\(added)")
            #expect(
                added.stdoutText.contains("jobq: no jobqd serves \(cli.database): the job waits until one starts"),
                "\(added)")
            // A job cancelled at once (its dependency was) waits for nothing: no note.
            try await cli.succeed(["cancel", "1"])
            let cancelled = try await onTerminal("add --after 1 true")
            #expect(cancelled.stdoutText.contains("was cancelled at once"), "\(cancelled)")
            #expect(!cancelled.stdoutText.contains("no jobqd serves"), "\(cancelled)")
            // join and wait say so too before they wait for what cannot finish; not into a pipe.
            for command in ["join --timeout 0.1 --no-progress", "wait 2 --timeout 0.1"] {
                let waiting = try await onTerminal(command)
                #expect(waiting.exitStatus == 124, "\(command): \(waiting)")
                #expect(
                    waiting.stdoutText.contains(
                        "no jobqd serves \(cli.database): nothing will finish before one starts"),
                    "\(command): \(waiting)")
            }
            let piped = try await cli.run(["join", "--timeout", "0.1"])
            #expect(piped.exitStatus == 124 && !piped.stderrText.contains("no jobqd"), "\(piped)")
        }
    }

    @Test("prints the id; the job is pending in the current directory with every option stored")
    func addStoresEverything() async throws {
        try await withCLI { (cli: CLI) async throws in
            let first = try await cli.add(["true"])
            #expect(first == 1)
            let result = try await cli.succeed(
                [
                    "add", "--queue", "build", "--priority", "-5", "--delay", "10m", "--timeout", "1.5",
                    "--retries", "3", "--backoff", "250ms", "--after", "1", "--env", "A=b=c", "--env", "HOME",
                    "--cwd", "sub", "--", "make", "-j4",
                ], in: cli.directory)
            let id = try #require(Int(result.stdoutText.trimmingCharacters(in: .newlines)))
            let job = try await cli.show(id)
            #expect(job["id"] as? Int == id)
            #expect(job["queue"] as? String == "build")
            #expect(job["state"] as? String == "pending")
            #expect(job["priority"] as? Int == -5)
            #expect(job["command"] as? [String] == ["make", "-j4"])
            #expect(job["shell"] is NSNull)
            #expect(job["timeout_ms"] as? Int == 1500)
            #expect(job["max_retries"] as? Int == 3)
            #expect(job["backoff_ms"] as? Int == 250)
            #expect(job["dependencies"] as? [Int] == [1])
            let env = try #require(job["env"] as? [String: String])
            #expect(env["A"] == "b=c")
            #expect(env["HOME"] == ProcessInfo.processInfo.environment["HOME"])
            let realDirectory = try #require(realpath(cli.directory, nil).map { String(cString: $0) })
            #expect(
                (job["cwd"] as? String).map { $0 == cli.directory + "/sub" || $0 == realDirectory + "/sub" } == true)
            let enqueued = try #require(job["enqueued_at"] as? String)
            let runAt = try #require(job["run_at"] as? String)
            #expect(enqueued.hasSuffix("Z") && enqueued.contains("T"))
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let delay = try #require(formatter.date(from: runAt)).timeIntervalSince(
                try #require(formatter.date(from: enqueued)))
            #expect(abs(delay - 600) < 1)
        }
    }

    @Test("the default directory is the one jobq runs in")
    func defaultDirectory() async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.succeed(["add", "pwd"], in: cli.directory)
            let id = try #require(Int(result.stdoutText.trimmingCharacters(in: .newlines)))
            let cwd = try #require(try await cli.show(id)["cwd"] as? String)
            let real = String(cString: realpath(cli.directory, nil))
            #expect(cwd == cli.directory || cwd == real)
        }
    }

    /// (arguments after `add`, expected argv, expected queue)
    static let passthroughCases: [([String], [String], String)] = [
        (["--", "ls", "-la"], ["ls", "-la"], "default"),
        (["ls", "-la", "--queue", "x"], ["ls", "-la", "--queue", "x"], "default"),
        (["--queue", "q", "echo", "--json"], ["echo", "--json"], "q"),
        (["echo", "--help"], ["echo", "--help"], "default"),
        (
            ["echo", "--generate-completion-script", "bash"], ["echo", "--generate-completion-script", "bash"],
            "default"
        ),
        (["echo", "--generate-completion-script"], ["echo", "--generate-completion-script"], "default"),
        (["-q", "q2", "--", "-dash", "--", "x"], ["-dash", "--", "x"], "q2"),
        (["echo", "--", "--db", "/elsewhere"], ["echo", "--", "--db", "/elsewhere"], "default"),
        // The argument parser's own custom-completion hook, when no option of add precedes the command.
        (["echo", "---completion", "--", "x"], ["echo", "---completion", "--", "x"], "default"),
        (["-q", "q3", "echo", "---", "---completion"], ["echo", "---", "---completion"], "q3"),
    ]

    @Test("the command starts at the first word that is not an option of add", arguments: passthroughCases)
    func passthrough(arguments: [String], argv: [String], queue: String) async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.succeed(["add"] + arguments)
            #expect(result.stdoutText == "1\n")  // plain id: a --json after the command is the command's
            let job = try await cli.show(1)
            #expect(job["command"] as? [String] == argv)
            #expect(job["queue"] as? String == queue)
        }
    }

    @Test("--shell stores a script run by /bin/sh -c")
    func shell() async throws {
        try await withCLI { (cli: CLI) async throws in
            let id = try await cli.add(["--shell", "echo a | wc -c", ">", "out"])
            let job = try await cli.show(id)
            #expect(job["shell"] as? String == "echo a | wc -c > out")
            #expect(job["command"] as? [String] == ["/bin/sh", "-c", "echo a | wc -c > out"])
        }
    }

    @Test("--json prints {id, queue, state}")
    func json() async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.succeed(["add", "--json", "--queue", "q", "true"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
            #expect(object["id"] as? Int == 1)
            #expect(object["queue"] as? String == "q")
            #expect(object["state"] as? String == "pending")
            #expect(object.count == 3)
        }
    }

    @Test("--at takes RFC 3339, local time and +duration")
    func at() async throws {
        try await withCLI { (cli: CLI) async throws in
            let utc = try await cli.add(["--at", "2030-01-02T03:04:05.250Z", "true"])
            #expect(try await cli.show(utc)["run_at"] as? String == "2030-01-02T03:04:05.250Z")
            let offset = try await cli.add(["--at", "2030-01-02T05:04:05+02:00", "true"])
            #expect(try await cli.show(offset)["run_at"] as? String == "2030-01-02T03:04:05.000Z")
            let local = try await cli.succeed(["add", "--at", "2030-01-02 03:04", "true"])
            #expect(local.exitStatus == 0)
            let relative = try await cli.add(["--at", "+1h", "true"])
            let job = try await cli.show(relative)
            #expect((job["run_at"] as? String) != (job["enqueued_at"] as? String))
        }
    }

    static let awkward = [
        "it's \"quoted\"", "two  spaces", "line\nbreak", "$(touch /tmp/jobq-pwned)", "`id`", "'; DROP TABLE jobs; --",
        "naïve ☃ 日本", "back\\slash", "\t tab", "%s %n",
    ]

    @Test("arguments and queue names are stored verbatim, never interpreted")
    func verbatim() async throws {
        try await withCLI { (cli: CLI) async throws in
            let queue = "q 'x' \"y\" $(z); DROP TABLE queues;--"
            let id = try await cli.add(
                ["--queue", queue, "--env", "V=$(echo no)\nnext", "--", "printf"] + Self.awkward)
            let job = try await cli.show(id)
            #expect(job["command"] as? [String] == ["printf"] + Self.awkward)
            #expect(job["queue"] as? String == queue)
            #expect((job["env"] as? [String: String])?["V"] == "$(echo no)\nnext")
            #expect(try await cli.status()[queue]?["pending"] as? Int == 1)
            #expect(!FileManager.default.fileExists(atPath: "/tmp/jobq-pwned"))
            // The human views stay one line per job.
            let list = try await cli.succeed(["list"])
            #expect(list.stdoutText.split(separator: "\n").count == 2)
        }
    }

    @Test(
        "a queue name with a control character (C0, DEL or C1) is a usage error",
        arguments: ["a\nb", "a\u{7F}b", "a\u{85}b", "a\u{9B}b"])
    func controlCharacterQueue(queue: String) async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.run(["add", "--queue", queue, "true"])
            #expect(result.exitStatus == 64)
            #expect(result.stderrText == "jobq: the queue name contains a control character\n")
            #expect(!cli.databaseExists)
        }
    }

    @Test("bytes that are not UTF-8, in an argument or the current directory, are refused rather than changed")
    func notUTF8() async throws {
        try await withCLI { (cli: CLI) async throws in
            let jobq = "'\(CLI.binary)'"
            let argument = try await runProcess(
                "/bin/sh", ["-c", #"\#(jobq) add -- printf %s "$(printf 'caf\351')""#], environment: cli.environment())
            #expect(argument.exitStatus == 64, "\(argument)")
            #expect(argument.stderrText.hasPrefix("jobq: argument 5 is not valid UTF-8"), "\(argument)")
            let directory = try await runProcess(
                "/bin/sh", ["-c", #"mkdir "$(printf 'd\377')" && cd "$(printf 'd\377')" && \#(jobq) add pwd"#],
                environment: cli.environment(), currentDirectory: cli.directory)
            #expect(directory.exitStatus == 1, "\(directory)")
            #expect(directory.stderrText.contains("cannot read the current directory"), "\(directory)")
            // A database path or an --env value from the environment is refused too, not opened
            // or passed on with U+FFFD in place of the bad bytes.
            let variable = try await runProcess(
                "/bin/sh", ["-c", #"JOBQ_DB="$(printf 'x\377.db')" \#(jobq) add true"#],
                environment: cli.environment(), currentDirectory: cli.directory)
            #expect(variable.exitStatus == 1, "\(variable)")
            #expect(variable.stderrText.hasPrefix("jobq: $JOBQ_DB is not valid UTF-8"), "\(variable)")
            let environment = try await runProcess(
                "/bin/sh", ["-c", #"BAD="$(printf '\377')" \#(jobq) add --env BAD true"#],
                environment: cli.environment())
            #expect(environment.exitStatus == 64, "\(environment)")
            #expect(
                environment.stderrText.contains("--env BAD: its value in jobq's environment is not valid UTF-8"),
                "\(environment)")
            // Nothing but the directory made above: no database under a repaired name.
            #expect(try FileManager.default.contentsOfDirectory(atPath: cli.directory).count == 1)
            #expect(!cli.databaseExists)
        }
    }

    /// Refusals that leave no database behind: arguments, exit status, the message (`DB` stands
    /// for the database's path).
    static let refusals: [([String], Int32, String)] = [
        // An empty --cwd is a mistake, not the current directory.
        (["add", "--cwd", "", "pwd"], 64, "jobq: the working directory is empty\n"),
        // No database yet means no job for --after to name.
        (["add", "--after", "5", "true"], 1, "jobq: no job 5 in DB (named by --after); nothing was enqueued\n"),
    ]

    @Test(
        "an empty --cwd, or --after on a database that does not exist yet, fails without creating it",
        arguments: refusals)
    func refusedWithoutADatabase(arguments: [String], status: Int32, message: String) async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.run(arguments)
            #expect(result.exitStatus == status, "\(result)")
            #expect(result.stderrText == message.replacingOccurrences(of: "DB", with: cli.database))
            #expect(!cli.databaseExists)
        }
    }

    @Test("a job added after one that was cancelled is cancelled at once, and jobq add says so on stderr")
    func afterACancelledJob() async throws {
        try await withCLI { (cli: CLI) async throws in
            let first = try await cli.add(["false"])
            try await cli.succeed(["cancel", String(first)])
            let result = try await cli.succeed(["add", "--after", String(first), "true"])
            let id = try #require(Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(result.stderrText == "jobq: job \(id) was cancelled at once: dependency \(first) was cancelled\n")
            #expect(try await cli.show(id)["state"] as? String == "cancelled")
        }
    }

    @Test(
        "negative values of add's options are read as values, and refused",
        arguments: ["--delay", "--after", "--timeout", "--backoff"])
    func negativeValues(option: String) async throws {
        try await withCLI { (cli: CLI) async throws in
            let result = try await cli.run(["add", option, "-1", "true"])
            #expect(result.exitStatus == 64, "\(result)")
            #expect(result.stderrText.contains("The value '-1' is invalid for '\(option)"), "\(result)")
            #expect(!cli.databaseExists)
        }
    }

    @Test("a command line as long as the OS allows is stored whole")
    func hugeCommandLine() async throws {
        try await withCLI { (cli: CLI) async throws in
            // 1.5 MB in 1500 arguments: within Linux's ARG_MAX (a quarter of the 8 MB stack limit).
            let arguments = (0..<1500).map { index in
                String(repeating: Character(UnicodeScalar(97 + index % 26)!), count: 1000)
            }
            let id = try await cli.add(["echo"] + arguments)
            let job = try await cli.show(id)
            #expect(job["command"] as? [String] == ["echo"] + arguments)
        }
    }
}
