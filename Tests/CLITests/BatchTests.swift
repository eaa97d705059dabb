import Foundation
import JobqTestSupport
import Testing

@Suite("jobq add --batch")
struct BatchTests {
    @Test("one job per line, with keys for every option; command-line options are the defaults")
    func batch() async throws {
        try await withCLI { (cli: CLI) async throws in
            _ = try await cli.add(["true"])
            let input = """
                {"cmd":["echo","one"]}

                {"shell":"echo two | tr a-z A-Z","queue":"other","priority":7,"delay":"5m","timeout":2.5,"retries":2,"backoff":"100ms","after":[1],"env":{"K":"v"},"cwd":"/srv"}
                {"cmd":["date"],"at":"2030-01-02T03:04:05Z","env":{"X":"y"}}\r

                """
            let result = try await cli.succeed(
                ["add", "--queue", "dflt", "--env", "BASE=1", "--batch", "-", "--json"], stdin: Array(input.utf8))
            let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
            let jobs = try #require(document["jobs"] as? [[String: Any]])
            #expect(jobs.map { $0["id"] as? Int } == [2, 3, 4])
            #expect(jobs.map { $0["queue"] as? String } == ["dflt", "other", "dflt"])
            #expect(jobs.allSatisfy { $0["state"] as? String == "pending" })

            let two = try await cli.show(3)
            #expect(two["shell"] as? String == "echo two | tr a-z A-Z")
            #expect(two["priority"] as? Int == 7)
            #expect(two["timeout_ms"] as? Int == 2500)
            #expect(two["max_retries"] as? Int == 2)
            #expect(two["backoff_ms"] as? Int == 100)
            #expect(two["dependencies"] as? [Int] == [1])
            #expect(two["cwd"] as? String == "/srv")
            #expect(two["env"] as? [String: String] == ["BASE": "1", "K": "v"])
            let three = try await cli.show(4)
            #expect(three["run_at"] as? String == "2030-01-02T03:04:05.000Z")
            #expect(three["env"] as? [String: String] == ["BASE": "1", "X": "y"])
        }
    }

    @Test("without --json, one id per line; a file works like stdin")
    func fileInput() async throws {
        try await withCLI { (cli: CLI) async throws in
            let path = cli.directory + "/jobs.jsonl"
            try Data("{\"cmd\":[\"a\"]}\n{\"cmd\":[\"b\"]}".utf8).write(to: URL(fileURLWithPath: path))
            #expect(try await cli.succeed(["add", "--batch", path]).stdoutText == "1\n2\n")
        }
    }

    /// (input, the line the error names)
    static let badBatches: [(String, Int)] = [
        ("{\"cmd\":[\"ok\"]}\n{\"cmd\":[\"ok\"]\n", 2),
        ("{\"cmd\":[\"ok\"]}\n\n{}\n", 3),
        ("[\"ls\"]\n", 1),
        ("{\"cmd\":\"ls -la\"}\n", 1),
        ("{\"cmd\":[]}\n", 1),
        ("{\"cmd\":[\"\"]}\n", 1),
        ("{\"cmd\":[1,2]}\n", 1),
        ("{\"shell\":\"\"}\n", 1),
        ("{\"cmd\":[\"ls\"],\"shell\":\"ls\"}\n", 1),
        ("{\"cmd\":[\"ls\"],\"comand\":1}\n", 1),
        ("{\"cmd\":[\"ls\"],\"cmd\":[\"rm\"]}\n", 1),
        ("{\"cmd\":[\"ls\"],\"delay\":\"soon\"}\n", 1),
        ("{\"cmd\":[\"ls\"],\"delay\":\"1s\",\"at\":\"+1m\"}\n", 1),
        ("{\"cmd\":[\"ls\"],\"priority\":1.5}\n", 1),
        ("{\"cmd\":[\"ls\"],\"retries\":-1}\n", 1),
        ("{\"cmd\":[\"ls\"],\"after\":[\"1\"]}\n", 1),
        ("{\"cmd\":[\"ls\"],\"env\":{\"A\":1}}\n", 1),
        ("{\"cmd\":[\"ls\"],\"queue\":\"a\\nb\"}\n", 1),
        ("{\"cmd\":[\"a\\u0000b\"]}\n", 1),
        ("{\"cmd\":[\"pwd\"],\"cwd\":\"/tmp\\u0000/x\"}\n", 1),
        ("{\"cmd\":[\"pwd\"],\"cwd\":\"rel\\u0000x\"}\n", 1),
        ("{\"cmd\":[\"ls\"],\"queue\":\"a\\u0085b\"}\n", 1),
        ("{\"cmd\":[\"ls\"]} trailing\n", 1),
        ("{\"cmd\":[\"ls\"]}\n{\"cmd\":[\"ls\"]}\n\"just a string\"\n", 3),
    ]

    @Test("a bad line is named by number (exit 64) and nothing is enqueued", arguments: badBatches)
    func badLine(input: String, line: Int) async throws {
        try await withCLI { (cli: CLI) async throws in
            _ = try await cli.add(["true"])
            let result = try await cli.run(["add", "--batch", "-"], stdin: Array(input.utf8))
            #expect(result.exitStatus == 64, "\(result)")
            #expect(result.stderrText.hasPrefix("jobq: line \(line): "), "\(result)")
            #expect(result.stderrText.split(separator: "\n").count == 1)
            #expect(try await cli.status()["default"]?["pending"] as? Int == 1)
        }
    }

    @Test("a line that is not UTF-8 is named by number")
    func invalidUTF8() async throws {
        try await withCLI { (cli: CLI) async throws in
            let input = Array("{\"cmd\":[\"ok\"]}\n{\"cmd\":[\"".utf8) + [0xFF, 0xFE] + Array("\"]}\n".utf8)
            let result = try await cli.run(["add", "--batch", "-"], stdin: input)
            #expect(result.exitStatus == 64)
            #expect(result.stderrText == "jobq: line 2: not valid UTF-8\n")
            #expect(!cli.databaseExists)
        }
    }

    @Test("an unknown dependency fails the whole batch with exit 1, naming the line")
    func unknownDependency() async throws {
        try await withCLI { (cli: CLI) async throws in
            let input = "{\"cmd\":[\"a\"]}\n{\"cmd\":[\"b\"],\"after\":[99]}\n"
            let result = try await cli.run(["add", "--batch", "-"], stdin: Array(input.utf8))
            #expect(result.exitStatus == 1)
            #expect(result.stderrText.hasPrefix("jobq: line 2: no job 99 in \(cli.database)"))
            #expect(try await cli.succeed(["list", "--json"]).stdoutText == "[]\n")
        }
    }

    @Test("an unreadable batch file exits 1; empty input enqueues nothing")
    func unreadableAndEmpty() async throws {
        try await withCLI { (cli: CLI) async throws in
            let missing = try await cli.run(["add", "--batch", cli.directory + "/nope.jsonl"])
            #expect(missing.exitStatus == 1)
            #expect(missing.stderrText.hasPrefix("jobq: cannot read batch file"))
            #expect(!cli.databaseExists)
            let empty = try await cli.succeed(["add", "--batch", "-", "--json"], stdin: Array("\n  \n".utf8))
            #expect(empty.stdoutText == "{\"jobs\":[]}\n")
        }
    }

    @Test("a 10 MB argument list in one line is stored whole")
    func tenMegabyteLine() async throws {
        try await withCLI { (cli: CLI) async throws in
            let argument = String(repeating: "0123456789", count: 1000)  // 10 kB
            let argv = ["echo"] + Array(repeating: argument, count: 1000)  // 10 MB
            let line = try JSONSerialization.data(withJSONObject: ["cmd": argv])
            let result = try await cli.succeed(["add", "--batch", "-"], stdin: Array(line) + [UInt8(ascii: "\n")])
            #expect(result.stdoutText == "1\n")
            #expect(try await cli.show(1)["command"] as? [String] == argv)
        }
    }

    @Test("an argument Linux cannot pass to a program (128 KiB or more) is refused at enqueue, naming the line")
    func argumentTooLongToRun() async throws {
        try await withCLI { (cli: CLI) async throws in
            let script = String(repeating: "x", count: 128 * 1024)
            let line = try JSONSerialization.data(withJSONObject: ["shell": script])
            let result = try await cli.run(["add", "--batch", "-"], stdin: Array(line) + [UInt8(ascii: "\n")])
            #expect(result.exitStatus == 64, "\(result)")
            #expect(
                result.stderrText == "jobq: line 1: an argument or environment variable of 131072 bytes is more than "
                    + "Linux passes to a program (131071); put it in a file\n")
            #expect(!cli.databaseExists)
            // One byte less is accepted.
            let fits = try JSONSerialization.data(withJSONObject: ["shell": String(script.dropFirst())])
            try await cli.succeed(["add", "--batch", "-"], stdin: Array(fits) + [UInt8(ascii: "\n")])
        }
    }
}
