import Foundation
import JobqCore
import JobqReliability
import JobqStore
import JobqTestSupport
import Testing

/// One temporary directory with a database, the real `jobq`, and a way to look into the
/// database, for the daemon-level reliability tests.
struct Workspace {
    let directory: String
    var database: String { directory + "/jobq.db" }

    static let jobq: String = {
        do {
            return try Binaries.path(of: "jobq")
        } catch {
            fatalError("\(error)")
        }
    }()

    /// This process's environment without a database or systemd settings of its own.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["JOBQ_DB", "STATE_DIRECTORY", "NOTIFY_SOCKET"] { environment[key] = nil }
        return environment
    }

    /// Runs `jobq --db <database> arguments...`.
    func jobq(_ arguments: [String], stdin: [UInt8]? = nil) async throws -> ProcessResult {
        try await runProcess(
            Self.jobq, ["--db", database] + arguments, environment: Self.environment, standardInput: stdin,
            timeout: .seconds(120))
    }

    /// `jobq add arguments...`, expected to succeed; the new job's id.
    func add(_ arguments: [String]) async throws -> JobID {
        let result = try await jobq(["add"] + arguments)
        #expect(result.exitStatus == 0, "jobq add \(arguments): \(result)")
        return try #require(JobID(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), "\(result)")
    }

    /// A store on the database (which must exist), to read jobs as the daemon left them.
    func store() async throws -> JobStore {
        try await JobStore(path: database, createIfMissing: false)
    }

    /// Waits until no job is pending or running.
    func waitUntilAllEnded(_ store: JobStore, timeout: Duration = .seconds(60)) async throws {
        try await waitUntil("every job to end", timeout: timeout, interval: .milliseconds(20)) {
            try await store.unfinishedCount() == 0
        }
    }

    /// The ids in `file`, one per line, counted.
    func appearances(in file: String) -> [JobID: Int] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").reduce(into: [:]) { counts, line in
            counts[JobID(line) ?? -1, default: 0] += 1
        }
    }
}

/// Runs `body` with a fresh workspace.
func withWorkspace(_ body: (Workspace) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        try await body(Workspace(directory: directory))
    }
}
