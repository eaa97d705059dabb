import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why a notify socket could not be made.
public struct NotifySocketError: Error, CustomStringConvertible {
    /// The socket path.
    public var path: String
    /// The failed call and its `errno` text.
    public var reason: String
    public var description: String { "cannot create the notify socket \(path): \(reason)" }
}

/// The service manager's end of the sd_notify protocol, as a test plays it: a Unix datagram
/// socket whose path goes into the daemon's `$NOTIFY_SOCKET`. It collects every assignment
/// the daemon sends (`READY=1`, `STATUS=…`, `STOPPING=1`), in order. Reading never blocks, so
/// callers poll it (with `waitUntil`) instead of parking a thread of the cooperative pool.
public final class NotifySocket: Sendable {
    /// The bound socket file (removed when the value goes away).
    public let path: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])

    /// Binds a new socket at `path` (which must not exist and must fit a socket address).
    public init(path: String) throws(NotifySocketError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw NotifySocketError(path: path, reason: "the path is longer than a socket address allows")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let descriptor = socket(
            AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw NotifySocketError(path: path, reason: Self.lastError("socket")) }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let reason = Self.lastError("bind")
            close(descriptor)
            throw NotifySocketError(path: path, reason: reason)
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every assignment received so far (`"READY=1"`, `"STATUS=Taking jobs"`, …), oldest first.
    public var assignments: [String] {
        received.withLock { received in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                received.append(contentsOf: message.split(separator: "\n").map(String.init))
            }
            return received
        }
    }

    /// Whether the daemon has sent `assignment` (e.g. `"READY=1"`).
    public func hasReceived(_ assignment: String) -> Bool {
        assignments.contains(assignment)
    }

    private static func lastError(_ call: String) -> String {
        "\(call): \(String(cString: strerror(errno)))"
    }
}
