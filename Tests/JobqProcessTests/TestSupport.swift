import Glibc
import Logging
import Testing

import func JobqTestSupport.waitUntil

@testable import JobqProcess

/// Helpers shared by the process tests: one supervisor for the whole test process (as in the daemon), temporary
/// directories, bounded polling and bounded waits.
enum TestSupport {
    /// The supervisor most tests use. It is a subreaper, as the daemon's is, so what a test job leaves behind
    /// comes back to this process and is reaped here rather than by init.
    static let supervisor: ProcessSupervisor = {
        var logger = Logger(label: "jobq.process.tests")
        logger.logLevel = .debug
        // A failure here means the machine is out of descriptors or threads: nothing a test could report.
        let supervisor = try! ProcessSupervisor(logger: logger)
        try! supervisor.becomeSubreaper()
        return supervisor
    }()

    /// A plain environment for test jobs.
    static let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"]

    /// A spec running `script` with `/bin/sh -c` in `directory`.
    static func shell(_ script: String, in directory: String = "/", killGrace: Duration = .seconds(5)) -> ProcessSpec {
        ProcessSpec(
            command: .shell(script), workingDirectory: directory, environment: environment, killGrace: killGrace)
    }

    /// Waits for `child` with a time limit, so a bug fails the test instead of hanging it.
    static func wait(_ child: ChildProcess, timeout: Duration = .seconds(30)) async throws -> Termination {
        try await withThrowingTaskGroup(of: Termination?.self) { group in
            group.addTask { try await child.wait() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let termination = first else { throw TimedOut(what: "process \(child.pid) to finish") }
            return termination
        }
    }

    /// Whether a process with this pid exists and is not a zombie.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = ProcessStat.read(pid: pid) else { return false }
        return stat.isLive
    }

    /// The text of a file, or nil if it does not exist (yet).
    static func readText(_ path: String) -> String? {
        readSmallFile(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Pids written one per line to `path` by a job, once `count` of them are there.
    static func pids(in path: String, count: Int) async -> [Int32] {
        var pids: [Int32] = []
        try? await waitUntil("\(count) pids in \(path)", timeout: .seconds(10)) {
            pids = (readText(path) ?? "").split(separator: "\n").compactMap { Int32($0) }
            return pids.count >= count
        }
        return pids
    }

    /// The descriptors of this process that are pipes or pidfds (what a supervisor could leak).
    static func pipeAndPidfdCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard Int32(name) != nil else { continue }
            var target = [CChar](repeating: 0, count: 256)
            let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
            guard length > 0 else { continue }
            let text = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("pipe:") || text == "anon_inode:[pidfd]" { count += 1 }
        }
        return count
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}
