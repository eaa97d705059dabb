import Foundation
import JobqCore
import JobqReliability
import JobqTestSupport
import Testing

@testable import JobqCLI

/// Seeded fuzzing of `jobq`'s two input parsers, in-process (thousands of cases; `scripts/fuzz`
/// raises the count), and a sample of the same inputs against the real binary.
@Suite("fuzzing the CLI")
struct FuzzTests {
    private static let now = Timestamp(milliseconds: 1_700_000_000_000)

    // The in-process loops run on threads of their own (`runOnOwnThread`): pure CPU work for
    // seconds, which would otherwise hold the cooperative pool and starve the other tests.

    @Test("--batch input: never a crash; a rejection names a real, non-blank line; acceptance takes every line")
    func batchParser() async throws {
        let (failures, accepted) = try await runOnOwnThread {
            var inputs = BatchInputs(random: SeededRandom(seed: FuzzBudget.seed))
            var failures: [String] = []
            var accepted = 0
            for number in 0..<FuzzBudget.cases {
                let bytes = inputs.input()
                let lines = Self.lines(bytes)
                let nonBlank = lines.indices.filter { !Self.isBlank(lines[$0]) }.map { $0 + 1 }
                do throws(CLIError) {
                    let specs = try BatchParser.parse(bytes, defaults: JobSpec(command: .argv([])), now: Self.now)
                    accepted += 1
                    if specs.map(\.line) != nonBlank {
                        failures.append("case \(number): parsed lines \(specs.map(\.line)), expected \(nonBlank)")
                    }
                    for (_, spec) in specs { _ = try? spec.request(now: Self.now, currentDirectory: "/tmp") }
                } catch {
                    guard case .usage(let message) = error,
                        let number = Int(message.prefix { $0 != ":" }.dropFirst("line ".count)),
                        message.hasPrefix("line "), nonBlank.contains(number)
                    else {
                        failures.append("case \(number): \(error) (non-blank lines: \(nonBlank.prefix(10)))")
                        continue
                    }
                }
            }
            return (failures, accepted)
        }
        #expect(failures.isEmpty, "\(failures.count) failures, e.g. \(failures.prefix(5))")
        #expect(accepted > 0 && accepted < FuzzBudget.cases, "the inputs exercise both outcomes")
        print("fuzz --batch: \(FuzzBudget.cases) cases (seed \(FuzzBudget.seed)), \(accepted) accepted")
    }

    @Test("a JSON text the batch reader accepts is JSON to Foundation too")
    func jsonAgreesWithFoundation() async throws {
        let failures = try await runOnOwnThread {
            var inputs = BatchInputs(random: SeededRandom(seed: FuzzBudget.seed &+ 1))
            var failures: [String] = []
            for _ in 0..<FuzzBudget.cases {
                var line = Array(inputs.validLine().line.utf8)
                if inputs.random.oneIn(2) { line = inputs.mutate(line) }
                guard String(validating: line, as: UTF8.self) != nil, (try? JSONValue.parse(line)) != nil else {
                    continue
                }
                if (try? JSONSerialization.jsonObject(with: Data(line), options: .fragmentsAllowed)) == nil {
                    failures.append(String(decoding: line, as: UTF8.self))
                }
            }
            return failures
        }
        #expect(failures.isEmpty, "accepted but not JSON: \(failures.prefix(5))")
    }

    @Test("well-formed batch lines mean exactly what they say")
    func validLinesRoundTrip() async throws {
        let failures = try await runOnOwnThread {
            var inputs = BatchInputs(random: SeededRandom(seed: FuzzBudget.seed &+ 2))
            var failures: [String] = []
            for _ in 0..<min(FuzzBudget.cases, 5_000) {
                let (line, words, shell, queue) = inputs.validLine()
                let specs = try BatchParser.parse(
                    Array(line.utf8), defaults: JobSpec(command: .argv([])), now: Self.now)
                guard let spec = specs.first?.spec,
                    spec.command == (shell ? .shell(words[0]) : .argv(words)),
                    spec.queue == queue ?? JobRequest.defaultQueue
                else {
                    failures.append(line)
                    continue
                }
            }
            return failures
        }
        #expect(failures.isEmpty, "read otherwise than written: \(failures.prefix(5))")
    }

    @Test("command lines: never a crash; a rejection is help (0) or a usage error (64) with a message")
    func argumentParser() async throws {
        let (failures, parsed) = try await runOnOwnThread {
            var inputs = ArgumentInputs(random: SeededRandom(seed: FuzzBudget.seed &+ 3))
            var failures: [String] = []
            var parsed = 0
            for _ in 0..<FuzzBudget.cases {
                let arguments = inputs.arguments()
                do {
                    _ = try JobqCommand.parseAsRoot(arguments)
                    parsed += 1
                } catch {
                    let status = JobqCommand.exitCode(for: error).rawValue
                    let message = JobqCommand.fullMessage(for: error)
                    if status != 0 && status != 64 || status == 64 && message.isEmpty {
                        failures.append("\(arguments): exit \(status), \(message.debugDescription)")
                    }
                }
            }
            return (failures, parsed)
        }
        #expect(failures.isEmpty, "\(failures.count) failures, e.g. \(failures.prefix(5))")
        #expect(parsed > 0 && parsed < FuzzBudget.cases, "the inputs exercise both outcomes")
        print("fuzz arguments: \(FuzzBudget.cases) cases (seed \(FuzzBudget.seed)), \(parsed) parsed")
    }

    @Test("the real jobq: exit 0, 1 or 64, one line on stderr for 1, and a batch is all or nothing")
    func realBinary() async throws {
        try await withWorkspace { workspace in
            _ = try await workspace.add(["true"])
            let probe = try DatabaseProbe(path: workspace.database)
            var arguments = ArgumentInputs(random: SeededRandom(seed: FuzzBudget.seed &+ 4), onlyNonBlocking: true)
            var batches = BatchInputs(random: SeededRandom(seed: FuzzBudget.seed &+ 5))
            var environment = Workspace.environment
            environment["JOBQ_DB"] = workspace.database
            environment["XDG_STATE_HOME"] = workspace.directory + "/state"
            var failures: [String] = []
            for number in 0..<FuzzBudget.processCases {
                let isBatch = number % 2 == 0
                let input = isBatch ? batches.input() : nil
                let args = isBatch ? ["add", "--batch", "-"] : arguments.arguments()
                let before = try Self.rows(probe)
                let result = try await runProcess(
                    Workspace.jobq, args, environment: environment, currentDirectory: workspace.directory,
                    standardInput: input, timeout: .seconds(60))
                let stderrLines = result.stderrText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                let what = "jobq \(args.map(\.debugDescription).joined(separator: " ").prefix(300))"
                switch result.exitStatus {
                case 0: break
                case 1:
                    if stderrLines.count != 1 || !result.stderrText.hasPrefix("jobq: ") {
                        failures.append("\(what): exit 1 with \(result.stderrText.debugDescription.prefix(300))")
                    }
                case 64:
                    if stderrLines.first?.isEmpty ?? true {
                        failures.append("\(what): exit 64 without a message")
                    }
                default:
                    failures.append("\(what): \(result.termination), \(result.stderrText.prefix(300))")
                }
                if isBatch {
                    let added = try Self.rows(probe) - before
                    let printed = result.stdoutText.split(separator: "\n").count
                    if added != (result.exitStatus == 0 ? printed : 0) {
                        failures.append(
                            "\(what): exit \(result.exitStatus.map(String.init) ?? "-"), \(added) rows added, \(printed) ids printed"
                        )
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.count) failures, e.g. \(failures.prefix(5))")
            print("fuzz jobq binary: \(FuzzBudget.processCases) cases (seed \(FuzzBudget.seed))")
        }
    }

    private static func isBlank(_ line: ArraySlice<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    private static func rows(_ probe: DatabaseProbe) throws -> Int {
        try ["pending", "running", "succeeded", "failed", "cancelled"].reduce(0) { $0 + (try probe.count(state: $1)) }
    }

    /// The input's lines as the batch reader splits them: at `\n`, without a trailing `\r`.
    private static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if bytes.last == 0x0A || bytes.isEmpty { lines.removeLast() }
        return lines.map { $0.last == 0x0D ? $0.dropLast() : $0 }
    }
}
