import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A live process that carries a marker in its environment: a job's process, or anything it
/// started (children inherit the environment).
public struct MarkedProcess: Sendable, Hashable, CustomStringConvertible {
    /// Its process id.
    public var pid: Int32
    /// Its `JOBQ_JOB_ID`, if set.
    public var jobID: Int64?
    /// Its `JOBQ_ATTEMPT`, if set.
    public var attempt: Int?
    /// Its command line, for messages.
    public var commandLine: String

    public var description: String {
        "pid \(pid) (job \(jobID.map(String.init) ?? "?"), attempt \(attempt.map(String.init) ?? "?")): \(commandLine)"
    }
}

/// Finds processes by what `/proc` says about them.
public enum ProcessTable {
    /// Every live process whose environment holds `name=value` exactly. Zombies (whose
    /// environment is gone) and processes that end while being read are not reported.
    public static func processes(withEnvironment name: String, equalTo value: String) -> [MarkedProcess] {
        let marker = "\(name)=\(value)"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [MarkedProcess] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid() else { continue }
            guard let environment = readNULSeparated("/proc/\(entry)/environ"), environment.contains(marker) else {
                continue
            }
            func variable(_ key: String) -> String? {
                environment.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
            }
            let commandLine = readNULSeparated("/proc/\(entry)/cmdline")?.joined(separator: " ") ?? ""
            found.append(
                MarkedProcess(
                    pid: pid, jobID: variable("JOBQ_JOB_ID").flatMap { Int64($0) },
                    attempt: variable("JOBQ_ATTEMPT").flatMap { Int($0) }, commandLine: commandLine))
        }
        return found.sorted { $0.pid < $1.pid }
    }

    private static func readNULSeparated(_ path: String) -> [String]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
