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

extension [JobIDArgument] {
    /// The ids in the order given, each once (`jobq wait 3 3` waits for job 3).
    var uniqueIDs: [Int64] {
        var seen = Set<Int64>()
        return map(\.id).filter { seen.insert($0).inserted }
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
let durationHelpSuffix = "A number of seconds (1.5) or a number with a unit: 500ms, 2s, 5m, 1h, 1d."
