import ArgumentParser
import Foundation
import JobqCore
import JobqTestSupport
import Testing

@testable import JobqCLI

/// `jobq add WORD…` skips the argument parser (`AddInvocation(plainArguments:)`); these tests hold
/// it to meaning exactly what the parser makes of the same words.
@Suite("jobq add without options (in process)")
struct AddInvocationTests {
    static let now = Timestamp(milliseconds: 1_800_000_000_000)
    static let environment = ["HOME": "/home/someone", "JOBQ_DB": "/tmp/elsewhere.db"]

    /// What `jobq` makes of `arguments` when it reads them with the argument parser.
    static func parsed(_ arguments: [String]) throws -> AddInvocation? {
        let command = try JobqMain.parse(arguments)
        return try (command as? Add)?.invocation(now: now, environment: environment)
    }

    @Test(
        "a command with no option of add before it is read without the parser, as the parser reads it",
        arguments: [
            ["add", "true"],
            ["add", "ls", "-la"],
            ["add", "--", "ls", "-la"],
            ["add", "--", "-dash", "--", "x"],
            ["add", "--", "--"],
            ["add", "--", "--help"],
            ["add", "--", "-q", "x"],
            ["add", "echo", "--queue", "q", "--json", "--db", "/x.db", "--batch", "-"],
            ["add", "echo", "--help"],
            ["add", "echo", "--generate-completion-script", "bash"],
            ["add", "help"],
            ["add", "add", "x"],
            ["add", ""],
            ["add", "", "x"],
            ["add", "echo 'a b' $(rm -rf /); DROP TABLE jobs;--", "\n", "é😀"],
            ["add", "x", "--version"],
        ])
    func plainCommands(arguments: [String]) throws {
        let plain = try #require(AddInvocation(plainArguments: arguments))
        #expect(plain == (try Self.parsed(arguments)))
        #expect(plain.job.queue == JobRequest.defaultQueue)
    }

    @Test(
        "anything with an option of add, or no command, goes to the parser",
        arguments: [
            [], ["add"], ["add", "--"], ["add", "-"], ["add", "-q", "x", "true"], ["add", "--json", "true"],
            ["add", "--db", "/x.db", "true"], ["add", "-h"], ["add", "--help"], ["add", "--version"],
            ["add", "--batch", "-"], ["add", "--generate-completion-script", "bash"], ["status"], ["list", "x"],
            ["ad", "x"], ["--db", "/x.db", "add", "x"],
        ])
    func otherCalls(arguments: [String]) {
        #expect(AddInvocation(plainArguments: arguments) == nil)
    }

    @Test("an empty leading --db is left to the parser, which refuses it with the usage message")
    func emptyLeadingDatabase() {
        GlobalOptions.$leadingDatabase.withValue("") {
            #expect(AddInvocation(plainArguments: ["add", "true"]) == nil)
        }
        GlobalOptions.$leadingDatabase.withValue("/x.db") {
            #expect(AddInvocation(plainArguments: ["add", "true"]) != nil)
        }
    }

    @Test("over 3,000 random argument lists, every one read without the parser is read as the parser reads it")
    func randomArgumentLists() throws {
        let vocabulary = [
            "add", "--", "-", "true", "echo", "x y", "", "-q", "--queue", "q", "--json", "--shell", "--db", "/x.db",
            "-h", "--help", "help", "--version", "--batch", "--after", "1", "--env", "A=b", "--priority", "-5",
            "--generate-completion-script", "bash", "é", "-la", "--=x", "-qx", "--retries=2",
        ]
        var random = SeededRandom(seed: 20_261_126)
        var plainCount = 0
        for _ in 0..<3_000 {
            var arguments = ["add"]
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                arguments.append(vocabulary.randomElement(using: &random)!)
            }
            guard let plain = AddInvocation(plainArguments: arguments) else { continue }
            plainCount += 1
            #expect(plain == (try Self.parsed(arguments)), "\(arguments)")
        }
        // The generator must exercise both sides, or the comparison proves nothing.
        #expect(plainCount > 300)
    }
}

/// `jobq add` with options takes the command's words as given (`JobqMain.parseAdd`): a long list is
/// parsed only up to its head, and words that start with `---` reach the library masked;
/// these tests hold it to what parsing the whole list gives.
@Suite("jobq add with options: the command's words (in process)")
struct AddCommandWordsTests {
    static func invocation(_ add: Add?) throws -> AddInvocation? {
        try add?.invocation(now: AddInvocationTests.now, environment: AddInvocationTests.environment)
    }

    /// The whole list through the library, as `parseAdd` does for short ones.
    static func parsedWhole(_ arguments: [String]) throws -> AddInvocation? {
        try invocation((try? Add.parseAsRoot(arguments)) as? Add)
    }

    @Test("the words past the parsed head reach the command in order, whatever the options")
    func longCommands() throws {
        let options = [
            ["-q", "q"], ["--priority", "-2"], ["--env", "A=b"], ["--json"], ["--shell"], ["--retries", "2"],
            ["--delay", "5m"], ["--cwd", "/tmp"], ["--"], ["--db", "/x.db"], ["--queue=r"], ["-p", "3"],
        ]
        var random = SeededRandom(seed: 8)
        for _ in 0..<40 {
            var arguments: [String] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                arguments += options.randomElement(using: &random)!
            }
            let words = JobqMain.longList + Int.random(in: -8...200, using: &random)
            arguments += ["echo"] + (0..<words).map { "w\($0)" }
            let parsed = try #require(try Self.invocation(JobqMain.parseAdd(arguments)), "\(arguments.prefix(12))")
            #expect(parsed == (try Self.parsedWhole(arguments)), "\(arguments.prefix(12))")
        }
    }

    @Test("options reaching past the head, or split by it, are parsed from the whole list")
    func optionsAcrossTheHead() throws {
        let manyOptions = Array(repeating: ["--env", "A=b"], count: JobqMain.longList / 2 + 1).flatMap { $0 }
        let splitOption = Array(repeating: "--json", count: JobqMain.longList - 1) + ["-q", "late"]
        for head in [manyOptions, splitOption] {
            let arguments = head + ["echo"] + (0..<50).map { "w\($0)" }
            let parsed = try #require(try Self.invocation(JobqMain.parseAdd(arguments)))
            #expect(parsed == (try Self.parsedWhole(arguments)))
            #expect(parsed.job.command == .argv(["echo"] + (0..<50).map { "w\($0)" }))
        }
        #expect(try Self.invocation(JobqMain.parseAdd(splitOption + ["echo"]))?.job.queue == "late")
    }

    @Test("words that start with three dashes are the command's arguments, and only that")
    func threeDashes() throws {
        let parsed = try #require(try Self.invocation(JobqMain.parseAdd(["-q", "x", "echo", "---", "---completion"])))
        #expect(parsed.job.command == .argv(["echo", "---", "---completion"]))
        #expect(parsed.job.queue == "x")
        // As an option's value or as the command itself, the library's refusal stands.
        for arguments in [["-q", "---x", "echo"], ["-q", "x", "---foo"], ["--json", "---"]] {
            #expect(JobqMain.parseAdd(arguments) == nil, "\(arguments)")
            #expect(throws: (any Error).self, "\(arguments)") { try Add.parseAsRoot(arguments) }
        }
    }

    @Test("20,000 words after an option are all the command's")
    func twentyThousandWords() throws {
        let words = (0..<20_000).map { "w\($0)" }
        let parsed = try #require(try Self.invocation(JobqMain.parseAdd(["-q", "x", "--", "echo"] + words)))
        #expect(parsed.job.command == .argv(["echo"] + words))
        #expect(parsed.job.queue == "x")
    }
}

/// `cancel`, `retry` and `wait` get runs of job ids packed into one word each before parsing
/// (`JobIDsArgument.packingRuns`); these tests hold that to what the unpacked words mean.
@Suite("job id lists (in process)")
struct JobIDListTests {
    @Test("a run of ids is packed after its first id, which may be an option's value")
    func packing() {
        let packed = JobIDsArgument.packingRuns(in: ["wait", "--timeout", "5", "6", "7", "x", "8", "0", "9", "10"])
        #expect(packed == ["wait", "--timeout", "5", "6\u{0}7", "x", "8", "0", "9", "10"])
        #expect(JobIDsArgument(argument: "6\u{0}7")?.ids == [6, 7])
        #expect(JobIDsArgument(argument: "6\u{0}") == nil)
    }

    /// What a parse of `arguments` means: the command's ids and options, or its error message.
    static func meaning(_ parse: () throws -> any ParsableCommand) -> String {
        do {
            switch try parse() {
            case let wait as Wait:
                return "wait \(wait.ids.uniqueIDs) \(String(describing: wait.waiting.timeout?.duration))"
            case let cancel as Cancel: return "cancel \(cancel.ids.uniqueIDs) \(cancel.queue ?? "-")"
            case let retry as Retry: return "retry \(retry.ids.uniqueIDs) \(retry.dependents)"
            case let other: return "\(type(of: other))"
            }
        } catch {
            return JobqCommand.fullMessage(for: error)
        }
    }

    @Test("300 random id lists with options mean with packing what they mean without")
    func sameMeaning() {
        let words = ["1", "2", "3", "42", "0", "-1", "x", "--timeout", "5", "--queue", "q", "--dependents", "--", "7"]
        var random = SeededRandom(seed: 40)
        for _ in 0..<300 {
            var arguments = [["cancel", "retry", "wait"].randomElement(using: &random)!]
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                arguments.append(words.randomElement(using: &random)!)
            }
            let packed = Self.meaning { try JobqMain.parse(arguments) }
            #expect(packed == Self.meaning { try JobqCommand.parseAsRoot(arguments) }, "\(arguments)")
        }
    }

    /// `packingRuns` keeps only a run's first id apart, for the option before it: an option
    /// taking several words (`.upToNextOption`), or repeated, would need more thought.
    @Test("every option of cancel, retry and wait takes one value, as the packing assumes")
    func optionsTakeOneValue() throws {
        for command in JobqMain.takingJobIDs.sorted() {
            let dump = Self.meaning { try JobqCommand.parseAsRoot([command, "--experimental-dump-help"]) }
            let tool = try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any]
            let arguments = (tool?["command"] as? [String: Any])?["arguments"] as? [[String: Any]] ?? []
            #expect(arguments.contains { $0["kind"] as? String == "positional" }, "\(command): \(dump.prefix(200))")
            for option in arguments where option["kind"] as? String == "option" {
                #expect(option["isRepeating"] as? Bool == false, "\(command): \(option["names"] ?? "?")")
            }
        }
    }

    @Test("wait names at most ten of the jobs that did not succeed or finish, then how many more")
    func waitFailureNamesTen() {
        #expect(Wait.list(["job 1 failed", "job 2 cancelled"]) == "job 1 failed, job 2 cancelled")
        let many = (1...40_000).map { "job \($0) cancelled" }
        #expect(Wait.list(many) == many.prefix(10).joined(separator: ", ") + " and 39990 more")
    }

    @Test("40,000 ids and an option after them")
    func fortyThousandIDs() throws {
        let ids = (1...40_000).map(String.init)
        let wait = try #require(try JobqMain.parse(["wait"] + ids + ["--timeout", "5"]) as? Wait)
        #expect(wait.ids.uniqueIDs == Array(1...40_000))
        #expect(wait.waiting.timeout?.duration == .seconds(5))
    }
}
