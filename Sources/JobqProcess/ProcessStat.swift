import Glibc

/// The fields of `/proc/<pid>/stat` that job supervision needs: who a process is, whose child, in which group
/// and session, and when it started (to tell a process from a later one that reused its pid).
public struct ProcessStat: Sendable, Hashable {
    /// The process id.
    public var pid: Int32
    /// The state letter: `R` running, `S` sleeping, `Z` zombie, …
    public var state: Character
    /// The parent's pid.
    public var parentPID: Int32
    /// The process group id.
    public var processGroup: Int32
    /// The session id.
    public var session: Int32
    /// Field 22: when the process started, in clock ticks since boot. Stable for the life of the process, so
    /// (pid, startTime) names one process even after the pid number is reused.
    public var startTime: UInt64

    /// Not exited yet: a zombie (`Z`) or dead (`X`) process has, and only waits to be reaped.
    public var isLive: Bool { state != "Z" && state != "X" }

    /// Reads `/proc/<pid>/stat`; `nil` when there is no such process (or `/proc` cannot be read).
    public static func read(pid: Int32) -> ProcessStat? {
        guard let bytes = readSmallFile("/proc/\(pid)/stat") else { return nil }
        return parse(bytes)
    }

    /// This process's children that live in another session, exited or not: the jobs its
    /// supervisors started (each in a session of its own), and, in a subreaper, what a job left
    /// behind when its parent exited. Children that other code here started share our session.
    static func childrenInOtherSessions() -> [ProcessStat] {
        let me = getpid()
        let ourSession = getsid(0)
        return (allPIDs() ?? []).compactMap { pid in
            guard let stat = read(pid: pid), stat.parentPID == me, stat.session != ourSession else { return nil }
            return stat
        }
    }

    /// The pids of the processes that exist now (the numeric entries of `/proc`); `nil` when `/proc`
    /// cannot be read.
    public static func allPIDs() -> [Int32]? {
        guard let directory = opendir("/proc") else { return nil }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }

    /// The start time of process `pid` (`/proc/<pid>/stat` field 22), or `nil` when it does not exist.
    public static func startTime(of pid: Int32) -> UInt64? {
        read(pid: pid)?.startTime
    }

    /// Parses a stat line. Field 2 (`comm`, in parentheses) may itself contain spaces and parentheses, so the
    /// fields after it are counted from the last `)`.
    static func parse(_ line: [UInt8]) -> ProcessStat? {
        guard let open = line.firstIndex(of: UInt8(ascii: "(")),
            let close = line.lastIndex(of: UInt8(ascii: ")")), open < close
        else { return nil }
        let head = line[..<open].split(separator: UInt8(ascii: " ")).first ?? []
        guard let pid = Int32(String(decoding: head, as: UTF8.self)) else { return nil }
        // Fields 3… ; index 0 is field 3 (state), so field N is at index N - 3.
        let rest = line[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard rest.count > 19, rest[0].count == 1 else { return nil }
        func field<T: FixedWidthInteger>(_ number: Int) -> T? {
            T(String(decoding: rest[number - 3], as: UTF8.self))
        }
        guard let parent: Int32 = field(4), let group: Int32 = field(5), let session: Int32 = field(6),
            let start: UInt64 = field(22)
        else { return nil }
        return ProcessStat(
            pid: pid,
            state: Character(Unicode.Scalar(rest[0].first!)),
            parentPID: parent,
            processGroup: group,
            session: session,
            startTime: start
        )
    }
}

/// Reads a small file (a `/proc` entry) in full with plain system calls; `nil` if it cannot be opened or read.
func readSmallFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { return result }
        result.append(contentsOf: chunk[..<count])
    }
}
