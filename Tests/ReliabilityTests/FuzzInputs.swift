import Foundation
import JobqReliability
import JobqTestSupport

/// How much fuzzing a run does: a few thousand cases by default, set from the environment by
/// `scripts/fuzz` (`JOBQ_FUZZ_CASES`, `JOBQ_FUZZ_PROCESS_CASES`, `JOBQ_FUZZ_SEED`).
enum FuzzBudget {
    static var cases: Int { setting("JOBQ_FUZZ_CASES") ?? 3_000 }
    static var processCases: Int { setting("JOBQ_FUZZ_PROCESS_CASES") ?? 40 }
    static var seed: UInt64 { setting("JOBQ_FUZZ_SEED").map(UInt64.init) ?? 2024 }

    private static func setting(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) }
    }
}

/// Inputs for `jobq add --batch`: well-formed lines with a known meaning, and mutations of
/// them that break them in the ways hostile or careless input does.
struct BatchInputs {
    var random: SeededRandom

    /// A valid line and what it must parse to: (line, the command's words or shell script, queue).
    mutating func validLine() -> (line: String, command: [String], shell: Bool, queue: String?) {
        let words = (0..<Int.random(in: 1...4, using: &random)).map { _ in text() }.map { $0.isEmpty ? "x" : $0 }
        let shell = random.oneIn(3)
        var members = [shell ? "\"shell\":\(json(words[0]))" : "\"cmd\":[\(words.map(json).joined(separator: ","))]"]
        var queue: String?
        if random.oneIn(2) {
            let name = ["default", "q", "images", "ünï", "a b"][Int.random(in: 0..<5, using: &random)]
            queue = name
            members.append("\"queue\":\(json(name))")
        }
        let optional = [
            "\"priority\":\(Int.random(in: -100...100, using: &random))",
            random.oneIn(2) ? "\"delay\":\"\(Int.random(in: 1...999, using: &random))ms\"" : "\"at\":\"+5m\"",
            "\"timeout\":2.5",
            "\"retries\":\(Int.random(in: 0...5, using: &random))", "\"backoff\":\"1s\"",
            "\"env\":{\"K\":\(json(text()))}", "\"cwd\":\"/tmp\"",
        ]
        for member in optional where random.oneIn(4) { members.append(member) }
        members.shuffle(using: &random)
        let space = [" ", "", "\t", "  "][Int.random(in: 0..<4, using: &random)]
        let line = "{" + space + members.joined(separator: "," + space) + space + "}"
        return (line, shell ? [words[0]] : words, shell, queue)
    }

    /// A whole batch input: some valid lines, maybe blank ones, and with probability one in
    /// two a mutation somewhere.
    mutating func input() -> [UInt8] {
        if random.oneIn(40) { return special() }
        var lines = (0..<Int.random(in: 1...6, using: &random)).map { _ in Array(validLine().line.utf8) }
        if random.oneIn(4) { lines.insert([], at: Int.random(in: 0...lines.count, using: &random)) }
        var bytes = Array(lines.joined(separator: random.oneIn(5) ? [0x0D, 0x0A] : [0x0A]))
        if random.oneIn(2) { bytes.append(0x0A) }
        if random.oneIn(2) {
            for _ in 0..<Int.random(in: 1...4, using: &random) { bytes = mutate(bytes) }
        }
        return bytes
    }

    /// One mutation: a flipped, inserted, deleted or duplicated byte range, a token that
    /// often confuses parsers, or a truncation.
    mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
        case 1:
            bytes.insert(contentsOf: Self.tokens[Int.random(in: 0..<Self.tokens.count, using: &random)], at: position)
        case 2 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...8, using: &random))
            bytes.removeSubrange(position..<end)
        case 3 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 4:
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        default:
            bytes = Array(bytes.prefix(position))
        }
        return bytes
    }

    /// Extreme inputs: deep nesting, huge lines, many lines, odd encodings.
    mutating func special() -> [UInt8] {
        switch Int.random(in: 0..<9, using: &random) {
        case 0: return Array(repeating: UInt8(ascii: "["), count: Int.random(in: 200...200_000, using: &random))
        case 1:
            let depth = Int.random(in: 250...260, using: &random)
            return Array(
                ("{\"cmd\":[\"x\"],\"env\":" + String(repeating: "{\"a\":", count: depth) + "1"
                    + String(repeating: "}", count: depth) + "}").utf8)
        case 2: return Array(("{\"cmd\":[\"" + String(repeating: "a", count: 4 << 20) + "\"]}\n").utf8)
        case 3: return Array(("{\"shell\":\"" + String(repeating: "\\u00e9", count: 200_000) + "\"}").utf8)
        case 4: return Array(String(repeating: "\n", count: 100_000).utf8) + Array("{\"cmd\":1}".utf8)
        case 5: return [0xEF, 0xBB, 0xBF] + Array("{\"cmd\":[\"ls\"]}".utf8)
        case 6:
            return (0..<Int.random(in: 1...4096, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        case 7: return Array("{\"cmd\":[\"ls\"],\"priority\":\(String(repeating: "9", count: 400))}".utf8)
        default:
            return Array(
                ("{\"cmd\":[\"ls\"],\"after\":[" + (1...50_000).map(String.init).joined(separator: ",") + "]}").utf8)
        }
    }

    static let tokens: [[UInt8]] =
        [
            "\"", "\\", "\\u", "\\ud800", "\\udc00\\ud800", "{", "}", "[", "]", ",", ":", "\n", "\r", "\u{0}",
            "\\u0000",
            "1e999", "-0", "9223372036854775808", "-9223372036854775809", "1.5e3", "null", "true", "[[[[", "}}}}",
            "\"cmd\":", "\"shell\":", "\"after\":[0]", "\"env\":{\"=\":\"\"}", "\"queue\":\"\"", "\u{FEFF}", "é", "😀",
        ].map { Array($0.utf8) } + [
            [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ]

    private mutating func text() -> String {
        let pieces = ["echo", "a", " ", "-", "--", "$HOME", "'", "\"", "\\", "ü", "日本", "😀", "\t", "\n", "/", "="]
        return (0..<Int.random(in: 0...4, using: &random)).map { _ in
            pieces[Int.random(in: 0..<pieces.count, using: &random)]
        }
        .joined()
    }

    private func json(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
    }
}

/// Command lines for `jobq`: the real vocabulary of commands, options and values, shuffled,
/// dropped, duplicated and mixed with garbage.
struct ArgumentInputs {
    var random: SeededRandom
    /// Leaves out the commands that wait by design (`join`, `wait`, `logs --follow`), for runs of the real binary.
    var onlyNonBlocking = false

    static let commands: [String: [String]] = [
        "add": [
            "--queue", "-q", "--priority", "-p", "--delay", "--at", "--timeout", "--retries", "--backoff", "--after",
            "--env", "--cwd", "--shell", "--json", "--batch", "--",
        ],
        "status": ["--queue", "-q", "--json"],
        "list": ["--queue", "-q", "--state", "-s", "--limit", "-n", "--json"],
        "show": ["--json"],
        "logs": [],
        "join": ["--timeout", "--progress", "--no-progress"],
        "wait": ["--timeout", "--progress", "--no-progress"],
        "cancel": ["--queue"],
        "retry": [],
        "pause": [],
        "resume": [],
        "queue": ["set", "--concurrency", "--capacity", "--idle-timeout"],
        "purge": ["--older-than", "--state"],
    ]

    static let values = [
        "1", "0", "-1", "42", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "500ms",
        "2s", "5m", "1h", "1d", "-5s", "1e9", "inf", "nan", "", " ", "default", "pending", "running", "succeeded",
        "failed", "cancelled", "bogus", "+1m", "2030-01-02T03:04:05Z", "2030-13-45 99:99", "K=V", "=V", "K", "PATH",
        "/tmp", ".", "..", "echo", "hi", "ü", "😀", "a\nb", "a\u{0}b", "-", "--", "---", "-x", "--help", "-h",
        "--version", "--db", "--db=", String(repeating: "x", count: 5000),
    ]

    mutating func arguments() -> [String] {
        var names = Self.commands.keys.sorted()
        if onlyNonBlocking { names.removeAll { $0 == "join" || $0 == "wait" } }
        var arguments: [String] = []
        if random.oneIn(15) { return (0..<Int.random(in: 0...6, using: &random)).map { _ in pick(Self.values) } }
        let command = pick(names)
        arguments.append(command)
        let options = Self.commands[command] ?? []
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !options.isEmpty, 1 where !options.isEmpty:
                let option = pick(options)
                arguments.append(random.oneIn(6) ? option + "=" + pick(Self.values) : option)
                if random.oneIn(3) == false { arguments.append(pick(Self.values)) }
            case 2: arguments.append(pick(Self.values))
            case 3: arguments.append(String(Int.random(in: 1...5, using: &random)))
            default: if random.oneIn(3) { arguments.append("--json") }
            }
        }
        if onlyNonBlocking {
            arguments.removeAll { $0 == "--follow" || $0 == "-f" }
            if command == "add" { arguments.removeAll { $0.hasPrefix("--batch") } }
        }
        if random.oneIn(10) { arguments.shuffle(using: &random) }
        return arguments
    }

    private mutating func pick(_ items: [String]) -> String {
        items[Int.random(in: 0..<items.count, using: &random)]
    }
}
