import Foundation
import JobqTestSupport
import Testing

/// Runs the real `jobq` binary against one temporary database per test.
struct CLI {
    /// The directory the test owns (removed afterwards).
    let directory: String
    /// The database every run uses (through `$JOBQ_DB`).
    var database: String { directory + "/jobq.db" }

    static let binary: String = {
        do {
            return try Binaries.path(of: "jobq")
        } catch {
            fatalError("\(error)")
        }
    }()

    /// The environment of every run: this process's, without colour or a database of its own.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["JOBQ_DB"] = database
        environment["NO_COLOR"] = "1"
        environment["XDG_STATE_HOME"] = directory + "/state"
        environment.removeValue(forKey: "STATE_DIRECTORY")
        return environment.merging(extra) { $1 }
    }

    /// Runs `jobq arguments...` to completion (60 s at most).
    @discardableResult
    func run(
        _ arguments: [String],
        stdin: [UInt8]? = nil,
        environment extra: [String: String] = [:],
        in currentDirectory: String? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ProcessResult {
        try await runProcess(
            Self.binary, arguments, environment: environment(extra), currentDirectory: currentDirectory,
            standardInput: stdin, timeout: timeout)
    }

    /// Runs `jobq arguments...` and expects exit status 0.
    @discardableResult
    func succeed(_ arguments: [String], stdin: [UInt8]? = nil, in currentDirectory: String? = nil) async throws
        -> ProcessResult
    {
        let result = try await run(arguments, stdin: stdin, in: currentDirectory)
        #expect(result.exitStatus == 0, "jobq \(arguments): \(result)")
        return result
    }

    /// `jobq add ...` and the new job's id.
    func add(_ arguments: [String]) async throws -> Int {
        let result = try await succeed(["add"] + arguments)
        return try #require(Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), "\(result)")
    }

    /// `jobq show ID --json`, parsed.
    func show(_ id: Int) async throws -> [String: Any] {
        let result = try await succeed(["show", String(id), "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
    }

    /// `jobq status --json`'s queues by name.
    func status() async throws -> [String: [String: Any]] {
        let result = try await succeed(["status", "--json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        let queues = try #require(document["queues"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: queues.map { ($0["name"] as! String, $0) })
    }

    /// Runs SQL on the database with the `sqlite3` shell (to play the daemon's part).
    func sql(_ statement: String) async throws {
        let result = try await runProcess("/usr/bin/sqlite3", [database, statement], timeout: .seconds(30))
        #expect(result.exitStatus == 0, "sqlite3: \(result)")
    }

    /// Whether the database file exists.
    var databaseExists: Bool { FileManager.default.fileExists(atPath: database) }
}

/// Runs `body` with a `CLI` on a fresh temporary directory.
func withCLI(_ body: (CLI) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        try await body(CLI(directory: directory))
    }
}
