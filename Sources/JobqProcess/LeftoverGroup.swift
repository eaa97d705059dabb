import Glibc

extension ProcessSupervisor {
    /// Stops a process group that a previous daemon left behind (after a crash), if it is still the job's.
    ///
    /// `processGroup` and `leaderStartTime` are what was recorded when the job started (`ChildProcess`'s
    /// `processGroup` and `startTime`). If a process with pid == `processGroup` exists but started at another
    /// time, the number was reused by an unrelated process: nothing is done. Otherwise — the leader still
    /// running, or gone with members of the group left (Linux does not reuse a number while it is a process
    /// group id) — the group gets SIGTERM, up to `grace` to empty, then SIGKILL.
    ///
    /// These processes are not our children, so emptiness is polled (`kill(-pgid, 0)`) with a timer that
    /// backs off from 2 ms to 50 ms; the wait suspends without holding a thread. If the calling task is
    /// cancelled while waiting, SIGKILL is sent at once instead of waiting out the grace.
    public static func stopLeftoverGroup(
        processGroup: Int32, leaderStartTime: UInt64, grace: Duration
    ) async -> LeftoverResult {
        guard processGroup > 1 else { return .invalidGroup }
        if let leader = ProcessStat.read(pid: processGroup), leader.startTime != leaderStartTime {
            return .pidReused
        }
        // Only exited members left (zombies nobody has reaped yet): nothing to stop.
        guard hasLiveMember(processGroup) else { return .nothingLeft }
        if kill(-processGroup, SIGTERM) != 0 {
            return errno == ESRCH ? .nothingLeft : .notPermitted
        }
        if await waitUntilEmpty(processGroup, within: grace) { return .stopped }
        kill(-processGroup, SIGKILL)
        return await waitUntilEmpty(processGroup, within: .seconds(2)) ? .killed : .survived
    }

    /// Polls until no live process is left in `group` (true) or `limit` has passed (false). Returns false at
    /// once when the task is cancelled.
    ///
    /// Zombies do not count: these processes are not our children, and where their new parent (pid 1, or a
    /// container's init) reaps late, an exited member would otherwise hold the group "alive" for the whole
    /// grace, and every restart after a crash would wait it out.
    private static func waitUntilEmpty(_ group: Int32, within limit: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var interval = Duration.milliseconds(2)
        while true {
            if kill(-group, 0) != 0 && errno == ESRCH { return true }
            if !hasLiveMember(group) { return true }
            let now = clock.now
            if now >= deadline { return false }
            do {
                try await Task.sleep(until: min(now + interval, deadline), clock: clock)
            } catch {
                return false
            }
            interval = min(interval * 2, .milliseconds(50))
        }
    }

    /// Whether a process of `group` exists that has not exited (a zombie has). Scans `/proc`.
    static func hasLiveMember(_ group: Int32) -> Bool {
        guard let pids = ProcessStat.allPIDs() else { return true }
        return pids.contains { pid in
            guard let stat = ProcessStat.read(pid: pid) else { return false }
            return stat.processGroup == group && stat.isLive
        }
    }
}

extension ProcessSupervisor {
    /// The process groups of live processes whose environment sets `name` to `value`, keyed by
    /// the values of `keys` in that environment ("" where one is missing), each with
    /// its leader's start time (0 when the leader is gone), as `stopLeftoverGroup` takes them.
    /// One scan of `/proc`, however many keys are asked about.
    ///
    /// How a daemon finds what the runs of a crashed daemon left behind: the job's processes,
    /// and whatever they start, inherit the job's environment. Zombies, unreadable processes,
    /// this process's own group and groups 0 and 1 are left out.
    public static func processGroups(
        whereEnvironment name: String, is value: String, keyedBy keys: [String]
    ) -> [[String]: [(processGroup: Int32, leaderStartTime: UInt64)]] {
        var groups: [[String]: Set<Int32>] = [:]
        for pid in ProcessStat.allPIDs() ?? [] where pid != getpid() {
            let environment = environment(of: pid)
            guard environment[name] == value, let stat = ProcessStat.read(pid: pid), stat.isLive,
                stat.processGroup > 1, stat.processGroup != getpgrp()
            else { continue }
            groups[keys.map { environment[$0] ?? "" }, default: []].insert(stat.processGroup)
        }
        return groups.mapValues { $0.sorted().map { ($0, ProcessStat.startTime(of: $0) ?? 0) } }
    }
}

/// A live process this (subreaper) process adopted from outside its own session: something a job's
/// processes started in a session of its own (`setsid`, a daemon's double fork) and left behind when its
/// parent exited. Such a process escapes the stop of its job's process group.
public struct AdoptedProcess: Sendable {
    public var pid: Int32
    public var processGroup: Int32
    /// Its environment, as far as it could be read: the `JOBQ_*` marks say which run it came from.
    public var environment: [String: String]
}

extension ProcessSupervisor {
    /// The live processes adopted from outside this process's session, other than the children its
    /// supervisors spawned (which also live in sessions of their own). Only a subreaper adopts.
    public static func adoptedProcesses() -> [AdoptedProcess] {
        let candidates = ProcessStat.childrenInOtherSessions().filter(\.isLive)
        guard !candidates.isEmpty else { return [] }
        let adopted = trackedChildren.withLock { tracked in candidates.filter { !tracked.contains($0.pid) } }
        return adopted.map { stat in
            AdoptedProcess(pid: stat.pid, processGroup: stat.processGroup, environment: environment(of: stat.pid))
        }
    }

    /// The environment `pid` was started with (`/proc/PID/environ`); empty when it cannot be read.
    static func environment(of pid: Int32) -> [String: String] {
        var environment: [String: String] = [:]
        for entry in readSmallFile("/proc/\(pid)/environ")?.split(separator: 0) ?? [] {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            environment[String(decoding: entry[..<equals], as: UTF8.self)] = String(
                decoding: entry[(equals + 1)...], as: UTF8.self)
        }
        return environment
    }
}
