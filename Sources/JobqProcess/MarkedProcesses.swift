import Glibc

/// A process group found by the marks in its processes' environments.
public struct MarkedGroup: Sendable, Hashable {
    /// The process group id.
    public var processGroup: Int32
    /// The start time of the group's leader (`/proc/<pgid>/stat` field 22), or `nil` when the
    /// leader is gone and only other members are left.
    public var leaderStartTime: UInt64?

    public init(processGroup: Int32, leaderStartTime: UInt64?) {
        self.processGroup = processGroup
        self.leaderStartTime = leaderStartTime
    }
}

extension ProcessSupervisor {
    /// The process groups that have a process whose initial environment holds every pair of
    /// `marks` (as `/proc/<pid>/environ` shows it). Recovery uses it to find what a job left
    /// running when the daemon died between starting the job's process and recording it: the
    /// daemon marks every job's environment with `JOBQ_DB`, `JOBQ_JOB_ID` and `JOBQ_ATTEMPT`.
    ///
    /// Only processes this user may inspect are seen. Reads procfs, which does not block on
    /// I/O; call it once at startup, not per job.
    public static func processGroups(markedWith marks: [String: String]) -> [MarkedGroup] {
        guard !marks.isEmpty, let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        let wanted = Set(marks.map { Array("\($0.key)=\($0.value)".utf8) })
        var groups: [Int32: MarkedGroup] = [:]
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != getpid(),
                let environ = readSmallFile("/proc/\(pid)/environ")
            else { continue }
            let pairs = environ.split(separator: 0, omittingEmptySubsequences: true)
            guard wanted.isSubset(of: Set(pairs.map { Array($0) })),
                let stat = ProcessStat.read(pid: pid), stat.processGroup > 1, groups[stat.processGroup] == nil
            else { continue }
            groups[stat.processGroup] = MarkedGroup(
                processGroup: stat.processGroup, leaderStartTime: ProcessStat.startTime(of: stat.processGroup))
        }
        return groups.values.sorted { $0.processGroup < $1.processGroup }
    }
}
