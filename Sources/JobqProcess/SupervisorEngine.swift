import CJobqSystem
import Glibc
import Logging
import Synchronization

/// The shared half of a supervisor: the epoll and wake-up descriptors and the inbox through which other
/// threads hand work to the supervisor thread. Everything else belongs to that thread (`SupervisorLoop`).
///
/// The descriptors are closed in `deinit`, i.e. only when the thread has ended and no handle can still call
/// `wake()`, so a write can never reach a reused descriptor number.
final class SupervisorEngine: Sendable {
    struct Registration: Sendable {
        var record: ChildRecord
        var process: SpawnedProcess
        var killGrace: UInt64
    }

    struct Inbox: Sendable {
        var registrations: [Registration] = []
        /// Children some of whose descriptors could not be watched: they are polled.
        var unwatched: [UInt64] = []
        var terminations: [(serial: UInt64, grace: UInt64)] = []
        var stopRequested = false
        var sweepsOrphans = false
    }

    let logger: Logger
    let epollFD: Int32
    let wakeFD: Int32
    let inbox = Mutex(Inbox())
    /// 0 is the wake-up descriptor's token; children count from 1.
    private let lastSerial = Atomic<UInt64>(0)

    init(logger: Logger) throws(SystemCallError) {
        self.logger = logger
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SystemCallError(call: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            let error = SystemCallError(call: "eventfd", errno: errno)
            close(epollFD)
            throw error
        }
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: 0))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let error = SystemCallError(call: "epoll_ctl", errno: errno)
            close(wakeFD)
            close(epollFD)
            throw error
        }
    }

    deinit {
        close(wakeFD)
        close(epollFD)
    }

    /// Starts the dedicated thread; it keeps the engine alive until it ends.
    func startThread() throws(SystemCallError) {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                let engine = Unmanaged<SupervisorEngine>.fromOpaque(context!).takeRetainedValue()
                jobq_name_current_thread("jobq-supervisor")
                SupervisorLoop(engine: engine).run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<SupervisorEngine>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", errno: result)
        }
        pthread_detach(thread)
    }

    func nextSerial() -> UInt64 {
        lastSerial.add(1, ordering: .relaxed).newValue
    }

    /// Hands a new child to the supervisor thread and watches its descriptors, from the calling thread and
    /// without waking the supervisor: the thread takes the registration from the inbox when the child's first
    /// event names it. Only a descriptor that cannot be watched (for lack of kernel memory) needs the thread at
    /// once, to poll the child instead.
    ///
    /// The descriptors go into epoll under the inbox lock, together with the registration. Until then the
    /// thread cannot take the child, so it cannot reap it and close (and free for reuse) a descriptor that is
    /// still being added; an event that comes first makes it take the inbox, which waits for this.
    func register(_ registration: Registration) {
        let process = registration.process
        let serial = registration.record.serial
        let failure: Int32? = inbox.withLock { inbox in
            inbox.registrations.append(registration)
            for (fd, stream) in [
                (process.pidfd, ChildStream.exit), (process.stdoutFD, .stdout), (process.stderrFD, .stderr),
            ] {
                var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: stream.token(serial)))
                if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) != 0 {
                    inbox.unwatched.append(serial)
                    return errno
                }
            }
            return nil
        }
        if let failure {
            logger.error(
                "cannot watch a child descriptor; polling it instead",
                metadata: ["process.pid": "\(process.pid)", "error.errno": "\(failure)"])
            wake()
        }
    }

    func requestTermination(serial: UInt64, grace: UInt64) {
        inbox.withLock { $0.terminations.append((serial, grace)) }
        wake()
    }

    func requestStop() {
        inbox.withLock { $0.stopRequested = true }
        wake()
    }

    func enableOrphanSweeps() {
        inbox.withLock { $0.sweepsOrphans = true }
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, MemoryLayout<UInt64>.size)
    }
}

/// Which of a child's descriptors an epoll event is for. The event's token is the child's serial and this.
enum ChildStream: UInt64 {
    case exit = 1
    case stdout = 2
    case stderr = 3

    func token(_ serial: UInt64) -> UInt64 { serial << 2 | rawValue }
}

/// The supervisor thread: one epoll loop over every child's pidfd and pipes, plus the deadlines of groups
/// being stopped. Never touched from another thread.
final class SupervisorLoop {
    private struct ActiveChild {
        let record: ChildRecord
        var pidfd: Int32
        var stdoutFD: Int32
        var stderrFD: Int32
        let killGrace: UInt64
        var lifecycle = ChildLifecycle()
        var termination: Termination?
        /// Set when a descriptor could not be added to epoll: the child is then polled at this time.
        var pollAt: UInt64?
    }

    /// How often a child whose descriptors could not be watched is polled.
    private static let unwatchedPollInterval: UInt64 = 100_000_000
    /// How often adopted orphans outside our session are looked for, in subreaper mode.
    private static let orphanSweepInterval: UInt64 = 1_000_000_000
    /// How soon a sweep that met a spawn under way is tried again.
    private static let orphanSweepRetry: UInt64 = 10_000_000
    private static let readChunk = 64 * 1024

    private let engine: SupervisorEngine
    private var logger: Logger { engine.logger }
    private var children: [UInt64: ActiveChild] = [:]
    private var stopping = false
    private var nextOrphanSweep: UInt64?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readChunk, alignment: 8)

    init(engine: SupervisorEngine) {
        self.engine = engine
    }

    deinit {
        buffer.deallocate()
    }

    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while !(stopping && children.isEmpty) {
            let timeout = timeoutMilliseconds(now: monotonicNanoseconds())
            let count = events.withUnsafeMutableBufferPointer {
                epoll_wait(engine.epollFD, $0.baseAddress, Int32($0.count), timeout)
            }
            if count < 0 {
                if errno == EINTR { continue }
                // Only EBADF/EFAULT/EINVAL remain, i.e. a broken invariant; children could no longer be reaped,
                // so crash loudly and let crash recovery take over rather than hang every job.
                fatalError("epoll_wait failed: \(errorText(errno))")
            }
            for event in events[0..<Int(count)] {
                let token = event.data.u64
                if token == 0 {
                    drainInbox()
                    continue
                }
                let serial = token >> 2
                // A child registered since the last wake-up: its registration is in the inbox, or about to be
                // (see `SupervisorEngine.register`).
                if children[serial] == nil { takeRegistrations() }
                switch ChildStream(rawValue: token & 3) {
                case .exit: reapLeader(serial)
                case .stdout: readPipe(serial, .stdout, draining: false)
                case .stderr: readPipe(serial, .stderr, draining: false)
                case nil: break
                }
            }
            fireTimers(now: monotonicNanoseconds())
        }
    }

    private func timeoutMilliseconds(now: UInt64) -> Int32 {
        var earliest = nextOrphanSweep
        for child in children.values {
            if let deadline = child.lifecycle.nextDeadline { earliest = min(earliest ?? deadline, deadline) }
            if let poll = child.pollAt { earliest = min(earliest ?? poll, poll) }
        }
        guard let earliest else { return -1 }
        if earliest <= now { return 0 }
        return Int32(min((earliest - now + 999_999) / 1_000_000, 60_000))
    }

    // MARK: Requests from other threads

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = read(engine.wakeFD, &counter, MemoryLayout<UInt64>.size)
        let inbox = engine.inbox.withLock { inbox in
            let taken = inbox
            inbox.registrations = []
            inbox.unwatched = []
            inbox.terminations = []
            return taken
        }
        for registration in inbox.registrations { add(registration) }
        let now = monotonicNanoseconds()
        for serial in inbox.unwatched { children[serial]?.pollAt = now }
        for request in inbox.terminations {
            guard var child = children[request.serial] else { continue }
            let actions = child.lifecycle.terminateRequested(grace: request.grace, now: now)
            children[request.serial] = child
            perform(actions, serial: request.serial)
        }
        stopping = inbox.stopRequested
        if inbox.sweepsOrphans && nextOrphanSweep == nil { nextOrphanSweep = now }
    }

    /// Takes only the new children, for an event that names one not known yet.
    private func takeRegistrations() {
        let registrations = engine.inbox.withLock { inbox in
            defer { inbox.registrations = [] }
            return inbox.registrations
        }
        for registration in registrations { add(registration) }
    }

    /// Takes over a child whose descriptors the spawning thread has put into epoll already.
    private func add(_ registration: Registration) {
        let process = registration.process
        children[registration.record.serial] = ActiveChild(
            record: registration.record, pidfd: process.pidfd, stdoutFD: process.stdoutFD,
            stderrFD: process.stderrFD, killGrace: registration.killGrace)
    }

    private typealias Registration = SupervisorEngine.Registration

    // MARK: Exits

    private func reapLeader(_ serial: UInt64) {
        guard var child = children[serial], child.pidfd >= 0 else { return }
        let pid = child.record.pid
        var status = jobq_child_status()
        var result: Int32
        repeat { result = jobq_wait_pidfd(child.pidfd, &status) } while result != 0 && errno == EINTR
        if result == 0 && status.pid == 0 { return }
        trackedChildren.withLock { $0.reaped(pid) }
        let outcome: Termination =
            if result != 0 { .statusLost } else if status.code == Int32(CLD_EXITED) {
                .exited(status.status)
            } else { .signaled(status.status) }
        if outcome == .statusLost {
            logger.error(
                "a job's exit status was taken by other code in this process", metadata: ["process.pid": "\(pid)"])
        }
        unwatchAndClose(child.pidfd)
        child.pidfd = -1
        child.termination = outcome
        let actions = child.lifecycle.leaderDidExit()
        children[serial] = child
        perform(actions, serial: serial)
    }

    // MARK: Output

    private func readPipe(_ serial: UInt64, _ stream: ChildStream, draining: Bool) {
        guard var child = children[serial] else { return }
        let fd = stream == .stdout ? child.stdoutFD : child.stderrFD
        guard fd >= 0 else { return }
        // Bounded per wake-up so one flooding job cannot starve the others; unbounded when draining.
        var budget = draining ? Int.max : 16
        var open = true
        while budget > 0 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])
                child.record.state.withLock { state in
                    if stream == .stdout { state.stdout.append(bytes) } else { state.stderr.append(bytes) }
                }
                budget -= 1
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { break }
            if count < 0 {
                logger.debug(
                    "reading a job's output failed",
                    metadata: ["process.pid": "\(child.record.pid)", "error.errno": "\(errno)"])
            }
            open = false
            break
        }
        if !open || draining {
            unwatchAndClose(fd)
            if stream == .stdout { child.stdoutFD = -1 } else { child.stderrFD = -1 }
            children[serial] = child
            // Both pipes end when the process exits, just before its pidfd becomes readable: look now
            // rather than in another round (a process that merely closed them is left alone by the
            // non-blocking wait).
            if !draining && child.stdoutFD < 0 && child.stderrFD < 0 { reapLeader(serial) }
        }
    }

    /// Removes `fd` from epoll before closing it. Closing alone is not enough: epoll watches the open file,
    /// and a child that is being spawned right now holds a copy of it until its exec, so the registration
    /// (and a level-triggered hang-up) would outlive our descriptor.
    private func unwatchAndClose(_ fd: Int32) {
        epoll_ctl(engine.epollFD, EPOLL_CTL_DEL, fd, nil)
        close(fd)
    }

    // MARK: Stopping groups

    private func fireTimers(now: UInt64) {
        for (serial, child) in children {
            guard let poll = child.pollAt, poll <= now else { continue }
            children[serial]?.pollAt = now + Self.unwatchedPollInterval
            readPipe(serial, .stdout, draining: false)
            readPipe(serial, .stderr, draining: false)
            reapLeader(serial)
        }
        for (serial, var child) in children {
            guard let deadline = child.lifecycle.nextDeadline, deadline <= now else { continue }
            let actions = child.lifecycle.timerFired(now: now)
            children[serial] = child
            perform(actions, serial: serial)
        }
        if let sweep = nextOrphanSweep, sweep <= now {
            let swept = reapOrphans()
            nextOrphanSweep = monotonicNanoseconds() + (swept ? Self.orphanSweepInterval : Self.orphanSweepRetry)
        }
    }

    private func perform(_ actions: [ChildLifecycle.Action], serial: UInt64) {
        for action in actions {
            guard let child = children[serial] else { return }
            let group = child.record.pid
            switch action {
            case .signalGroup(let signal):
                logger.debug(
                    "signalling a job's process group",
                    metadata: [
                        "process.group": "\(group)",
                        "process.signal": "\(Termination.signalName(signal) ?? "\(signal)")",
                    ])
                kill(-group, signal)
            case .checkGroup:
                checkGroup(serial)
            case .finish(let groupEmptied):
                finish(serial, groupEmptied: groupEmptied)
            }
        }
    }

    /// Reaps members of the group that were re-parented to us (subreaper mode), then asks whether any member
    /// is left. Zombies still count as members until reaped, which is why the reaping comes first.
    private func checkGroup(_ serial: UInt64) {
        guard var child = children[serial] else { return }
        let group = child.record.pid
        var status = jobq_child_status()
        while jobq_wait_process_group(group, &status) == 0 && status.pid != 0 {
            logger.debug(
                "reaped a process a job left behind",
                metadata: ["process.pid": "\(status.pid)", "process.group": "\(group)"])
        }
        let empty = kill(-group, 0) != 0 && errno == ESRCH
        let now = monotonicNanoseconds()
        let actions = child.lifecycle.groupChecked(empty: empty, grace: child.killGrace, now: now)
        children[serial] = child
        perform(actions, serial: serial)
    }

    private func finish(_ serial: UInt64, groupEmptied: Bool) {
        readPipe(serial, .stdout, draining: true)
        readPipe(serial, .stderr, draining: true)
        guard let child = children.removeValue(forKey: serial) else { return }
        if !groupEmptied {
            logger.warning(
                "a job's process group did not empty after SIGKILL; giving up on it",
                metadata: ["process.group": "\(child.record.pid)"])
        }
        let termination = child.termination ?? .statusLost
        let waiters = child.record.state.withLock { state in
            state.termination = termination
            let waiters = state.waiters
            state.waiters = [:]
            return waiters
        }
        for waiter in waiters.values { waiter.resume(returning: termination) }
    }

    // MARK: Orphans

    /// Reaps exited processes that were re-parented to this subreaper from outside our session (jobs run in
    /// sessions of their own, so everything a job leaves behind is outside ours), and are not tracked by any
    /// supervisor. Children that other code in this process started stay in our session and are left to it.
    /// Returns `false`, having reaped nothing, when a spawn was under way: its child may be such a zombie
    /// whose pid is not counted yet.
    private func reapOrphans() -> Bool {
        let candidates = ProcessStat.childrenInOtherSessions().filter { !$0.isLive }.map(\.pid)
        guard !candidates.isEmpty else { return true }
        // A candidate is a zombie, so its pid cannot be reused before somebody reaps it; holding the lock
        // while reaping keeps spawns from starting meanwhile. Zombies reap without blocking.
        return trackedChildren.withLock { tracked in
            guard tracked.spawning == 0 else { return false }
            for pid in candidates where !tracked.contains(pid) {
                var status = jobq_child_status()
                if jobq_wait_pid(pid, &status) == 0 && status.pid != 0 {
                    logger.debug("reaped an orphaned process", metadata: ["process.pid": "\(pid)"])
                }
            }
            return true
        }
    }
}

@available(*, unavailable)
extension SupervisorLoop: Sendable {}
