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
        if kill(-processGroup, SIGTERM) != 0 {
            return errno == ESRCH ? .nothingLeft : .notPermitted
        }
        if await waitUntilEmpty(processGroup, within: grace) { return .stopped }
        kill(-processGroup, SIGKILL)
        return await waitUntilEmpty(processGroup, within: .seconds(2)) ? .killed : .survived
    }

    /// Polls until no process is left in `group` (true) or `limit` has passed (false). Returns false at once
    /// when the task is cancelled.
    private static func waitUntilEmpty(_ group: Int32, within limit: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var interval = Duration.milliseconds(2)
        while true {
            if kill(-group, 0) != 0 && errno == ESRCH { return true }
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
}
