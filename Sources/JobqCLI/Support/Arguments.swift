import ArgumentParser
import JobqCore

/// A duration option value (`1.5`, `500ms`, `2s`, `5m`, `1h`, `1d`).
struct DurationArgument: ExpressibleByArgument, Sendable {
    /// The parsed duration.
    var duration: Duration

    init?(argument: String) {
        guard let duration = try? DurationText.parse(argument) else { return nil }
        self.duration = duration
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// A job state option value (`pending`, `running`, `succeeded`, `failed`, `cancelled`).
struct StateArgument: ExpressibleByArgument, Sendable {
    /// The state.
    var state: JobState

    init?(argument: String) {
        guard let state = JobState(rawValue: argument) else { return nil }
        self.state = state
    }

    static var allValueStrings: [String] { JobState.allCases.map(\.rawValue) }
}

/// A positive job id.
struct JobIDArgument: ExpressibleByArgument, Sendable, Hashable {
    /// The id.
    var id: Int64

    init?(argument: String) {
        guard let id = Int64(argument), id > 0 else { return nil }
        self.id = id
    }
}

/// The job ids `cancel`, `retry` and `wait` take: one per word, or a run of them that
/// `packingRuns(in:)` put in one word.
struct JobIDsArgument: ExpressibleByArgument, Sendable {
    /// The ids, in order.
    var ids: [Int64]

    init?(argument: String) {
        var ids: [Int64] = []
        for word in argument.split(separator: Self.separator, omittingEmptySubsequences: false) {
            guard let id = JobIDArgument(argument: String(word)) else { return nil }
            ids.append(id.id)
        }
        self.ids = ids
    }

    /// No word of a command line can hold a NUL, so a packed word is never a user's.
    private static let separator: Character = "\u{0}"

    /// `arguments` with each run of job ids packed into one word, but for the run's first id, which
    /// may be the value of the option before it (`--timeout 5 6 7`). The argument parser takes
    /// time quadratic in the words it collects into an array (each one merges the set of input
    /// positions seen so far again): `jobq wait $(jobq add --batch f)` with 40,000 ids took 25 s.
    /// Every option of these commands takes at most one value, so the rest of a run are ids.
    static func packingRuns(in arguments: [String]) -> [String] {
        var packed: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            packed.append(word)
            index += 1
            guard JobIDArgument(argument: word) != nil else { continue }
            var end = index
            while end < arguments.endIndex, JobIDArgument(argument: arguments[end]) != nil { end += 1 }
            if end > index {
                packed.append(arguments[index..<end].joined(separator: String(separator)))
                index = end
            }
        }
        return packed
    }
}

extension [JobIDsArgument] {
    /// The ids in the order given, each once (`jobq wait 3 3` waits for job 3).
    var uniqueIDs: [Int64] {
        var seen = Set<Int64>()
        return flatMap(\.ids).filter { seen.insert($0).inserted }
    }
}

/// A count that must be at least 1 (`--concurrency`, `--capacity`, `--limit`).
struct PositiveInt: ExpressibleByArgument, Sendable {
    /// The value.
    var value: Int

    init?(argument: String) {
        guard let value = Int(argument), value > 0 else { return nil }
        self.value = value
    }
}

/// The help text every duration option shares.
let durationHelpSuffix = "A number of seconds (1.5) or a number with a unit: 500ms, 2s, 5m, 1h, 1d (at most 3650d)."
