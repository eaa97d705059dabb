/// What a job runs: an argv executed directly, or a string given to `/bin/sh -c`.
public enum JobCommand: Sendable, Hashable {
    /// Executed directly; `argv[0]` is looked up in `PATH` when it has no slash.
    case argv([String])
    /// Run as `/bin/sh -c <script>`.
    case shell(String)

    /// The argv that is actually executed.
    public var executableArgv: [String] {
        switch self {
        case .argv(let argv): argv
        case .shell(let script): ["/bin/sh", "-c", script]
        }
    }

    /// A one-line rendering for people (tables, logs): shell-quoted argv or the script itself.
    public var displayString: String {
        switch self {
        case .shell(let script): script
        case .argv(let argv): argv.map(Self.shellQuoted).joined(separator: " ")
        }
    }

    private static func shellQuoted(_ word: String) -> String {
        let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
