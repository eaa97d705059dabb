#if canImport(Glibc)
    import Glibc
#endif

/// Talks to the service manager over `$NOTIFY_SOCKET` (the sd_notify protocol): `READY=1`
/// once recovery is done and jobs are being taken, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`.
/// Without `$NOTIFY_SOCKET` every call is a no-op, so the daemon runs the same anywhere.
public struct SystemdNotifier: Sendable {
    private let socketPath: [UInt8]?
    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, when the watchdog is
    /// enabled for this process (`$WATCHDOG_PID` absent or equal to our pid).
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(environment: [String: String]) {
        if let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@") {
            var bytes = Array(path.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
            socketPath = bytes
        } else {
            socketPath = nil
        }
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Whether a service manager listens (`$NOTIFY_SOCKET` was set).
    public var isEnabled: Bool { socketPath != nil }

    /// Sends one notification, e.g. `"READY=1\nSTATUS=Taking jobs"`, without blocking.
    /// Returns whether it was sent; callers may ignore failures (the daemon must not stop
    /// working because the manager went away) or send a changed state again later.
    @discardableResult
    public func notify(_ message: String) -> Bool {
        guard let socketPath, socketPath.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            return false
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: socketPath)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + socketPath.count)
        var payload = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                sendto(fd, &payload, payload.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sockaddrPointer, length)
            }
        }
        return sent == payload.count
    }
}
