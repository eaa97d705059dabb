import JobqCore
import JobqStore

extension Job {
    /// The `--json` object of `show` and of each `list` element: every `jobs` column by its
    /// name — `argv` (null for a shell job) and `shell` (the script, null for an argv job) as
    /// stored, the output tails as text under `stdout` and `stderr` (`stdout_bytes` and
    /// `stderr_bytes` count all the attempt wrote) — plus `command` (the
    /// executed argv, `["/bin/sh","-c",script]` for a shell job) and `dependencies`.
    var jsonObject: JSONValue {
        let (argv, shellScript): ([String]?, String?) =
            switch command {
            case .argv(let words): (words, nil)
            case .shell(let script): (nil, script)
            }
        return .object([
            JSONMember("id", .integer(id)),
            JSONMember("queue", .string(queue)),
            JSONMember("state", .string(state.rawValue)),
            JSONMember("priority", .integer(priority)),
            JSONMember("command", .array(command.executableArgv.map { .string($0) })),
            JSONMember("argv", argv.map { .array($0.map { .string($0) }) } ?? .null),
            JSONMember("shell", .string(shellScript)),
            JSONMember("cwd", .string(workingDirectory)),
            JSONMember(
                "env", .object(environment.sorted { $0.key < $1.key }.map { JSONMember($0.key, .string($0.value)) })),
            JSONMember("dependencies", .array(dependencies.map { .integer($0) })),
            JSONMember("run_at", .string(TimeText.rfc3339(runAt))),
            JSONMember("timeout_ms", .integer(timeout?.wholeMilliseconds)),
            JSONMember("max_retries", .integer(maxRetries)),
            JSONMember("backoff_ms", .integer(backoff.wholeMilliseconds)),
            JSONMember("attempts", .integer(attempts)),
            JSONMember("failures", .integer(failures)),
            JSONMember("exit_code", .integer(exitCode)),
            JSONMember("signal", .integer(signal)),
            JSONMember("error", .string(error)),
            JSONMember("cancel_requested", .bool(cancelRequested)),
            JSONMember("claimed", .bool(claimed)),
            JSONMember("delayed", .bool(delayed)),
            JSONMember("unmet_deps", .integer(unmetDependencies)),
            JSONMember("pid", .integer(process.map { Int($0.pid) })),
            JSONMember("pgid", .integer(process.map { Int($0.processGroup) })),
            JSONMember("pid_start_time", .integer(process.map { Int($0.startTime) })),
            JSONMember("enqueued_at", .string(TimeText.rfc3339(enqueuedAt))),
            JSONMember("started_at", .string(startedAt.map(TimeText.rfc3339))),
            JSONMember("finished_at", .string(finishedAt.map(TimeText.rfc3339))),
            JSONMember("stdout", .string(String(decoding: stdout, as: UTF8.self))),
            JSONMember("stderr", .string(String(decoding: stderr, as: UTF8.self))),
            JSONMember("stdout_bytes", .integer(stdoutBytes)),
            JSONMember("stderr_bytes", .integer(stderrBytes)),
        ])
    }

    /// The colour a state is shown in on a terminal.
    static func style(of state: JobState) -> TextStyle {
        switch state {
        case .pending: .plain
        case .running: .cyan
        case .succeeded: .green
        case .failed: .red
        case .cancelled: .yellow
        }
    }

    /// What `jobq show` prints for people: aligned fields, then the output tails.
    func humanDescription(now: Timestamp, color: Bool) -> String {
        func time(_ timestamp: Timestamp) -> String {
            TimeText.local(timestamp) + " (" + TimeText.relative(timestamp, now: now) + ")"
        }
        var fields: [(String, String)] = [
            (
                "state",
                Self.style(of: state).apply(state.rawValue, enabled: color)
                    + (cancelRequested && !state.isTerminal ? " (cancel requested)" : "")
            ),
            ("queue", queue.displaySafe),
            ("command", command.displayString.displaySafe + (isShell ? "   (sh -c)" : "")),
            ("directory", workingDirectory.displaySafe),
            ("priority", String(priority)),
            (
                "attempts",
                "\(attempts) (\(failures) failed, \(maxRetries) \(maxRetries == 1 ? "retry" : "retries") allowed)"
            ),
        ]
        if let timeout { fields.append(("timeout", DurationText.format(timeout))) }
        if maxRetries > 0 { fields.append(("backoff", DurationText.format(backoff))) }
        if !dependencies.isEmpty { fields.append(("after", dependencies.map(String.init).joined(separator: ", "))) }
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            fields.append(("env", (key + "=" + value).displaySafe))
        }
        fields.append(("enqueued", time(enqueuedAt)))
        if state == .pending, runAt > now { fields.append(("runs at", time(runAt))) }
        if let startedAt { fields.append(("started", time(startedAt))) }
        if state == .running, let process {
            fields.append(("process", "pid \(process.pid), group \(process.processGroup)"))
        }
        if let finishedAt {
            var text = time(finishedAt)
            if let startedAt { text += ", took " + DurationText.format(startedAt.duration(to: finishedAt)) }
            fields.append(("finished", text))
        }
        if let exitCode { fields.append(("exit code", String(exitCode))) }
        if let signal { fields.append(("signal", String(signal))) }
        if let error { fields.append(("error", Self.style(of: .failed).apply(error.displaySafe, enabled: color))) }

        let width = fields.map(\.0.count).max() ?? 0
        var output = TextStyle.bold.apply("job \(id)", enabled: color) + "\n"
        for (key, value) in fields {
            output += "  " + key + String(repeating: " ", count: width - key.count) + "  " + value + "\n"
        }
        for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] where !bytes.isEmpty {
            output += TextStyle.dim.apply("── \(name) (tail) ──", enabled: color) + "\n"
            let text = String(decoding: bytes, as: UTF8.self).displaySafeLines
            output += text.hasSuffix("\n") ? text : text + "\n"
        }
        return output
    }

    private var isShell: Bool {
        if case .shell = command { true } else { false }
    }
}
