import JobqCore
import JobqStore

/// One job to enqueue as the user described it — by `add`'s options or by a `--batch`
/// line — before it is checked and turned into a `JobRequest`.
struct JobSpec: Equatable {
    /// When the job may start, as given.
    enum Start: Equatable {
        case now
        case delay(Duration)
        case at(Timestamp)
    }

    var command: JobCommand
    var queue: String = JobRequest.defaultQueue
    var priority: Int = 0
    var start: Start = .now
    var timeout: Duration?
    var retries: Int = 0
    var backoff: Duration = RetryBackoff.defaultBase
    var dependencies: [Int64] = []
    var environment: [String: String] = [:]
    /// The directory as given; relative paths are taken from the current directory.
    var workingDirectory: String?

    /// The checked request. Throws a message (without a `jobq:` prefix) for what is wrong.
    /// - Parameters:
    ///   - now: the instant `--delay` counts from.
    ///   - currentDirectory: the directory of `jobq` itself; `nil` if it cannot be read.
    func request(now: Timestamp, currentDirectory: String?) throws(CLIError) -> JobRequest {
        let notBefore: Timestamp? =
            switch start {
            case .now: nil
            case .delay(let delay): now.advanced(by: delay)
            case .at(let instant): instant
            }
        let request = JobRequest(
            queue: queue,
            command: command,
            workingDirectory: try absoluteDirectory(currentDirectory: currentDirectory),
            environment: environment,
            priority: priority,
            notBefore: notBefore,
            timeout: timeout,
            retries: retries,
            backoff: backoff,
            dependencies: dependencies
        )
        // What the store would refuse (an empty command, a bad queue name, …), found before the
        // database is opened.
        if let problem = JobStore.problem(with: request) { throw .usage(problem) }
        return request
    }

    private func absoluteDirectory(currentDirectory: String?) throws(CLIError) -> String {
        if let workingDirectory, workingDirectory.hasPrefix("/") { return workingDirectory }
        guard let currentDirectory else {
            throw .failed(
                "cannot read the current directory (was it deleted, or is its path not UTF-8?); give the job a --cwd")
        }
        guard let workingDirectory, workingDirectory != "." else { return currentDirectory }
        // An empty --cwd is a mistake (`--cwd "$UNSET"`), never a request for the current directory.
        guard !workingDirectory.isEmpty else { throw .usage("the working directory is empty") }
        let relative = workingDirectory.hasPrefix("./") ? String(workingDirectory.dropFirst(2)) : workingDirectory
        return currentDirectory == "/" ? "/" + relative : currentDirectory + "/" + relative
    }
}

/// `--env` values: `K=V` sets K; a bare `K` passes on `jobq`'s own value of K.
enum EnvironmentAssignment {
    /// Parses `K=V` or `K` into the job's environment.
    static func parse(_ items: [String], from environment: [String: String]) throws(CLIError) -> [String: String] {
        var result: [String: String] = [:]
        for item in items {
            if let equals = item.firstIndex(of: "=") {
                let key = String(item[..<equals])
                guard !key.isEmpty else { throw .usage("invalid --env '\(item.displaySafe)': expected NAME=VALUE") }
                result[key] = String(item[item.index(after: equals)...])
            } else {
                guard !item.isEmpty, let value = environment[item] else {
                    if ProcessEnvironment.notUTF8.contains(item) {
                        throw .usage(
                            "--env \(item.displaySafe): its value in jobq's environment is not valid UTF-8, and jobq "
                                + "keeps the job's environment as text (use NAME=VALUE)")
                    }
                    throw .usage("--env \(item.displaySafe): no such variable in jobq's environment (use NAME=VALUE)")
                }
                result[item] = value
            }
        }
        return result
    }
}
