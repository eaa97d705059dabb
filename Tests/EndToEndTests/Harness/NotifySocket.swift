import JobqTestSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The service manager's end of the sd_notify protocol, for one daemon under test: a Unix
/// datagram socket in the test's directory that the daemon finds in `$NOTIFY_SOCKET`. It
/// collects every assignment the daemon sends (`READY=1`, `STATUS=…`, `STOPPING=1`), in order.
final class NotifySocket: Sendable {
    /// The socket's path (the value of `$NOTIFY_SOCKET`).
    let path: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])

    /// Creates and binds the socket at `path` (non-blocking; read by `assignments`).
    init(path: String) throws(HarnessError) {
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .notifySocket(path: path, reason: "path too long for a socket address")
        }
        let descriptor = socket(
            AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw .notifySocket(path: path, reason: String(cString: strerror(errno))) }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard status == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .notifySocket(path: path, reason: reason)
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every assignment received so far (`"READY=1"`, `"STATUS=Taking jobs"`, …), oldest first.
    var assignments: [String] {
        received.withLock { received in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                received.append(contentsOf: message.split(separator: "\n").map(String.init))
            }
            return received
        }
    }

    /// Whether the daemon has sent `assignment` (e.g. `"READY=1"`).
    func hasReceived(_ assignment: String) -> Bool {
        assignments.contains(assignment)
    }
}
