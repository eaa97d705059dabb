import Glibc

/// The stopping rules of one job's process group, as a value-type state machine: the supervisor thread feeds
/// it events (a stop was requested, the main process exited, a check of the group found it empty or not, a
/// deadline passed) and performs the actions it returns. Times are monotonic nanoseconds.
///
/// While the main process (the group leader) lives, its pid anchors the group id, so the group may be
/// signalled at any time. Once it has been reaped the id could in principle be reused after the group
/// empties, so from then on a signal is only sent right after a check found members in the group.
struct ChildLifecycle: Sendable {
    enum Action: Sendable, Hashable {
        /// Send this signal to the whole process group.
        case signalGroup(Int32)
        /// Reap adopted members of the group, see whether any member is left, and report `groupChecked`.
        case checkGroup
        /// The job is over: drain and close the pipes and deliver the termination. `groupEmptied` is false
        /// when the supervisor gave up on a group that did not empty after SIGKILL.
        case finish(groupEmptied: Bool)
    }

    /// How long after SIGKILL a group that still has members is given up on.
    let abandonAfter: UInt64
    /// The longest pause between two checks of a group that is being stopped.
    let maximumCheckInterval: UInt64

    private(set) var leaderExited = false
    private(set) var isFinished = false
    private var termSent = false
    private var killSent = false
    private var killDeadline: UInt64?
    private var abandonDeadline: UInt64?
    private var nextCheck: UInt64?
    private var checkInterval: UInt64 = 1_000_000

    init(abandonAfter: UInt64 = 2_000_000_000, maximumCheckInterval: UInt64 = 50_000_000) {
        self.abandonAfter = abandonAfter
        self.maximumCheckInterval = maximumCheckInterval
    }

    /// When `timerFired` next has something to do, if ever.
    var nextDeadline: UInt64? {
        if isFinished { return nil }
        if leaderExited { return nextCheck }
        return killSent ? nil : killDeadline
    }

    /// Someone asked to stop the job: SIGTERM now (once), SIGKILL at `now + grace` if anything is left.
    /// Repeated requests only ever bring the SIGKILL deadline closer.
    mutating func terminateRequested(grace: UInt64, now: UInt64) -> [Action] {
        if isFinished { return [] }
        let deadline = now &+ grace
        killDeadline = min(killDeadline ?? deadline, deadline)
        if leaderExited {
            // The group is already being stopped; the next check applies the (possibly closer) deadline.
            if let check = nextCheck { nextCheck = min(check, max(now, killDeadline!)) }
            return []
        }
        if termSent { return [] }
        termSent = true
        return [.signalGroup(SIGTERM)]
    }

    /// The main process was reaped: from now on the group is checked until it is empty.
    mutating func leaderDidExit() -> [Action] {
        if isFinished || leaderExited { return [] }
        leaderExited = true
        return [.checkGroup]
    }

    /// The result of a `checkGroup` action. `grace` is the SIGTERM→SIGKILL grace for leftovers when no stop
    /// was requested before.
    mutating func groupChecked(empty: Bool, grace: UInt64, now: UInt64) -> [Action] {
        if isFinished { return [] }
        if empty {
            isFinished = true
            return [.finish(groupEmptied: true)]
        }
        var actions: [Action] = []
        if !termSent {
            termSent = true
            killDeadline = min(killDeadline ?? now &+ grace, now &+ grace)
            actions.append(.signalGroup(SIGTERM))
        } else if !killSent, let deadline = killDeadline, deadline <= now {
            actions.append(contentsOf: sendKill(now: now))
        } else if killSent, let abandon = abandonDeadline, abandon <= now {
            isFinished = true
            return [.finish(groupEmptied: false)]
        }
        var check = now &+ checkInterval
        if !killSent, let deadline = killDeadline { check = min(check, deadline) }
        if let abandon = abandonDeadline { check = min(check, abandon) }
        nextCheck = check
        checkInterval = min(checkInterval * 2, maximumCheckInterval)
        return actions
    }

    /// A deadline may have passed.
    mutating func timerFired(now: UInt64) -> [Action] {
        if isFinished { return [] }
        if leaderExited {
            guard let check = nextCheck, check <= now else { return [] }
            nextCheck = nil
            return [.checkGroup]
        }
        guard !killSent, let deadline = killDeadline, deadline <= now else { return [] }
        return sendKill(now: now)
    }

    private mutating func sendKill(now: UInt64) -> [Action] {
        killSent = true
        abandonDeadline = now &+ abandonAfter
        return [.signalGroup(SIGKILL)]
    }
}
