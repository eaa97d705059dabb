import JobqCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads `jobq add --batch` input: one JSON object per line, each one job.
///
/// A line holds `"cmd"` (an array of strings, the argv) or `"shell"` (a string for
/// `/bin/sh -c`), plus any of `add`'s options as keys: `queue` (string), `priority`
/// (integer), `delay` / `timeout` / `backoff` (a duration string such as `"500ms"`, or a
/// number of seconds), `at` (a time string as `--at` takes), `retries` (integer), `after`
/// (an array of job ids, or one id), `env` (an object of strings), `cwd` (string).
/// Options given on the command line are the defaults for every line (a line's `env` is
/// added to them, its `after` ids too). Lines holding only white space are skipped, and so is a
/// UTF-8 byte-order mark at the start. Anything else that is wrong — invalid
/// UTF-8, invalid JSON, an unknown key, a value of the wrong type — rejects the whole
/// batch with the line's number (`line 3: ...`).
enum BatchParser {
    /// Every key a batch line may hold.
    static let keys: Set<String> = [
        "cmd", "shell", "queue", "priority", "delay", "at", "timeout", "retries", "backoff", "after", "env", "cwd",
    ]

    /// Parses the whole input into specs (with their 1-based line numbers), or throws the
    /// first problem as a usage error naming its line.
    static func parse(
        _ input: [UInt8], defaults: JobSpec, now: Timestamp
    ) throws(CLIError) -> [(line: Int, spec: JobSpec)] {
        var specs: [(line: Int, spec: JobSpec)] = []
        var lineNumber = 0
        // A UTF-8 byte-order mark, as some Windows editors write, is not part of the first line.
        var start = input.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < input.count {
            lineNumber += 1
            let end = input[start...].firstIndex(of: UInt8(ascii: "\n")) ?? input.count
            var line = input[start..<end]
            start = end + 1
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do throws(CLIError) {
                specs.append((lineNumber, try parseLine(line, defaults: defaults, now: now)))
            } catch {
                throw .usage("line \(lineNumber): \(error.description)")
            }
        }
        return specs
    }

    /// Parses one non-blank line.
    static func parseLine(_ bytes: ArraySlice<UInt8>, defaults: JobSpec, now: Timestamp) throws(CLIError) -> JobSpec {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .usage("not valid UTF-8") }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw .usage(error.description)
        }
        guard case .object(let members) = value else {
            throw .usage("expected a JSON object like {\"cmd\":[\"echo\",\"hi\"]}, got \(value.typeDescription)")
        }
        var fields: [String: JSONValue] = [:]
        for member in members {
            guard keys.contains(member.key) else {
                throw .usage(
                    "unknown key \"\(member.key.displaySafe)\" (known: \(keys.sorted().joined(separator: ", ")))")
            }
            guard fields.updateValue(member.value, forKey: member.key) == nil else {
                throw .usage("key \"\(member.key)\" appears twice")
            }
        }
        var spec = defaults
        spec.command = try command(fields)
        if let queue = fields["queue"] { spec.queue = try string(queue, "queue") }
        if let priority = fields["priority"] { spec.priority = try integer(priority, "priority") }
        if let delay = fields["delay"] { spec.start = .delay(try duration(delay, "delay")) }
        if let at = fields["at"] {
            guard fields["delay"] == nil else { throw .usage("give \"delay\" or \"at\", not both") }
            let text = try string(at, "at")
            do {
                spec.start = .at(try TimeText.parse(text, now: now))
            } catch {
                throw .usage(error.description)
            }
        }
        if let timeout = fields["timeout"] { spec.timeout = try duration(timeout, "timeout") }
        if let retries = fields["retries"] { spec.retries = try integer(retries, "retries") }
        if let backoff = fields["backoff"] { spec.backoff = try duration(backoff, "backoff") }
        if let after = fields["after"] { spec.dependencies += try jobIDs(after) }
        if let env = fields["env"] { spec.environment.merge(try environment(env)) { $1 } }
        if let cwd = fields["cwd"] { spec.workingDirectory = try string(cwd, "cwd") }
        return spec
    }

    private static func command(_ fields: [String: JSONValue]) throws(CLIError) -> JobCommand {
        switch (fields["cmd"], fields["shell"]) {
        case (.some(let cmd), nil):
            guard case .array(let elements) = cmd else {
                throw .usage("\"cmd\" must be an array of strings, got \(cmd.typeDescription)")
            }
            var argv: [String] = []
            argv.reserveCapacity(elements.count)
            for element in elements {
                guard case .string(let word) = element else {
                    throw .usage("\"cmd\" must be an array of strings, found \(element.typeDescription)")
                }
                argv.append(word)
            }
            return .argv(argv)
        case (nil, .some(let shell)):
            return .shell(try string(shell, "shell"))
        case (.some, .some):
            throw .usage("give \"cmd\" or \"shell\", not both")
        case (nil, nil):
            throw .usage("no command: give \"cmd\" (an array of strings) or \"shell\" (a string)")
        }
    }

    private static func string(_ value: JSONValue, _ key: String) throws(CLIError) -> String {
        guard case .string(let text) = value else {
            throw .usage("\"\(key)\" must be a string, got \(value.typeDescription)")
        }
        return text
    }

    private static func integer(_ value: JSONValue, _ key: String) throws(CLIError) -> Int {
        guard case .integer(let number) = value, let result = Int(exactly: number) else {
            throw .usage("\"\(key)\" must be an integer, got \(value.typeDescription)")
        }
        return result
    }

    private static func duration(_ value: JSONValue, _ key: String) throws(CLIError) -> Duration {
        let text: String
        switch value {
        case .string(let string): text = string
        case .integer(let number): text = String(number)
        case .double(let number): text = String(number)
        default:
            throw .usage(
                "\"\(key)\" must be a duration like \"500ms\" or a number of seconds, got \(value.typeDescription)")
        }
        do {
            return try DurationText.parse(text)
        } catch {
            throw .usage("\"\(key)\": \(error.description)")
        }
    }

    private static func jobIDs(_ value: JSONValue) throws(CLIError) -> [Int64] {
        switch value {
        case .integer(let id): return [id]
        case .array(let elements):
            var ids: [Int64] = []
            for element in elements {
                guard case .integer(let id) = element else {
                    throw .usage("\"after\" must be an array of job ids, found \(element.typeDescription)")
                }
                ids.append(id)
            }
            return ids
        default:
            throw .usage("\"after\" must be an array of job ids, got \(value.typeDescription)")
        }
    }

    private static func environment(_ value: JSONValue) throws(CLIError) -> [String: String] {
        guard case .object(let members) = value else {
            throw .usage("\"env\" must be an object of strings, got \(value.typeDescription)")
        }
        var result: [String: String] = [:]
        for member in members {
            guard case .string(let text) = member.value else {
                throw .usage(
                    "\"env\" value of \(member.key.displaySafe) must be a string, got \(member.value.typeDescription)")
            }
            result[member.key] = text
        }
        return result
    }
}

/// Reads all of a `--batch` source: a file, or standard input for `-`.
enum BatchInput {
    /// The whole content; failures to open or read are operation failures (exit status 1).
    static func read(_ source: String) throws(CLIError) -> [UInt8] {
        let descriptor: Int32
        if source == "-" {
            descriptor = STDIN_FILENO
        } else {
            descriptor = open(source, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw .failed("cannot read batch file \(source.displaySafe): \(String(cString: strerror(errno)))")
            }
        }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = Glibc.read(descriptor, &chunk, chunk.count)
            if count > 0 {
                content.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return content
            } else if errno != EINTR {
                let name = source == "-" ? "standard input" : source.displaySafe
                throw .failed("cannot read batch \(name): \(String(cString: strerror(errno)))")
            }
        }
    }
}
