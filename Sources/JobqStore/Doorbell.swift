import JobqSQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The wake-up call from clients to the daemon: a one-byte datagram on a Unix socket beside
/// the database (`<db>.sock`), sent after a client write commits, so the daemon notices new work
/// within milliseconds without polling. Ringing never blocks and never fails the caller: with no
/// daemon listening the datagram is simply dropped (the daemon's slow poll is the safety net).
///
/// When `<db>.sock` is too long for a socket address (108 bytes), both sides use the abstract
/// socket name `\0jobq-<hash of the database's real path>` instead; abstract names have no file
/// permissions, which is harmless here since a ring carries nothing but "look again".
public enum Doorbell {
    /// The socket path beside the database.
    public static func socketPath(databasePath: String) -> String {
        databasePath + ".sock"
    }

    /// Sends one wake-up datagram, ignoring every failure (no daemon, full buffer, …).
    public static func ring(databasePath: String) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = Self.address(databasePath: databasePath)
        var byte: UInt8 = 1
        _ = withUnsafePointer(to: &address.address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), socketAddress, address.length)
            }
        }
    }

    /// The daemon's side: binds the doorbell socket (mode as given, whatever the umask; by
    /// default the database's: 0600, or 0660 in a setgid directory, so group members can ring)
    /// and reads it on a dedicated thread; many rings between two reads of `rings()` coalesce
    /// into one wake-up. Only the holder of the `DaemonLock` may create one: a stale
    /// socket file from a dead daemon is removed first. When the socket file is removed while it
    /// listens (a clean-up of "stale" sockets), it binds it again within `checkInterval`, or
    /// every ring would be lost until the next start. A socket file that another listener put in
    /// its place (a daemon on a new database of the same name, after this one's was deleted) is
    /// left alone, then and at `close()`.
    public final class Listener: Sendable {
        /// The socket file, or `nil` for an abstract name.
        public let socketPath: String?
        private let stream: AsyncStream<Void>
        /// The write end of the wake-up pipe (-1 once closed) and the socket file bound now.
        private let wakeWriter: Mutex<(descriptor: Int32, bound: FileIdentity?)>
        private let thread: DedicatedThreadExecutor

        /// Binds the socket and starts reading.
        /// - Throws: `StoreError.cannotOpen` naming the socket when it cannot be created.
        public init(databasePath: String, mode: mode_t? = nil, checkInterval: Duration = .seconds(1))
            throws(StoreError)
        {
            let binding = Binding(
                address: Doorbell.address(databasePath: databasePath),
                path: Doorbell.socketPath(databasePath: databasePath),
                mode: mode ?? DatabaseFile.defaultMode(databasePath: databasePath))
            let (descriptor, file) = try binding.bind()
            // A socket pair wakes the reading thread up when the listener closes.
            var pipeEnds: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pipeEnds) == 0
            else {
                let reason = DatabaseFile.lastError()
                Glibc.close(descriptor)
                if let path = binding.socketFile { unlink(path) }
                throw .cannotOpen(path: binding.path, reason: reason)
            }
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            self.stream = stream
            self.socketPath = binding.socketFile
            self.wakeWriter = Mutex((pipeEnds[1], file))
            self.thread = DedicatedThreadExecutor(name: "jobq-doorbell")
            let wakeReader = pipeEnds[0]
            let checkMilliseconds = Int32(clamping: max(1, checkInterval.wholeMilliseconds))
            // Weak: the thread must not keep the listener alive, or its deinit would never close it.
            thread.execute { [weak self] in
                Listener.readLoop(
                    socket: descriptor, socketFile: binding.socketFile, bound: file,
                    checkMilliseconds: binding.socketFile == nil ? -1 : checkMilliseconds,
                    rebind: { self?.rebindUnlessClosed(binding) }, wakeReader: wakeReader, continuation: continuation)
            }
            thread.shutdown()  // the thread ends when the read loop does
        }

        deinit {
            close()
        }

        /// One element per wake-up (rings that arrive while one is waiting to be read are merged);
        /// ends after `close()`. Meant for one consumer.
        public func rings() -> AsyncStream<Void> {
            stream
        }

        /// Stops listening and removes the socket file. Idempotent.
        public func close() {
            // Under the lock that a rebind takes too: no socket file is made again after this.
            wakeWriter.withLock { writer in
                guard writer.descriptor >= 0 else { return }
                var byte: UInt8 = 0
                _ = write(writer.descriptor, &byte, 1)
                _ = Glibc.close(writer.descriptor)
                writer.descriptor = -1
                if let socketPath, let bound = writer.bound, FileIdentity(path: socketPath) == bound {
                    unlink(socketPath)
                }
            }
        }

        /// A new socket bound in place of one whose file was removed or replaced, unless the
        /// listener is closed (or the bind failed: the read loop tries again at its next check).
        private func rebindUnlessClosed(_ binding: Binding) -> (descriptor: Int32, file: FileIdentity?)? {
            wakeWriter.withLock { writer in
                guard writer.descriptor >= 0, let fresh = try? binding.bind() else { return nil }
                writer.bound = fresh.file
                return fresh
            }
        }

        /// Reads `socket`, bound as `file`, until the wake-up pipe says the listener closed; every
        /// `checkMilliseconds` (-1: never, for an abstract name) it looks whether the socket file
        /// is still there, and if not calls `rebind`.
        private static func readLoop(
            socket: Int32, socketFile: String?, bound file: FileIdentity?, checkMilliseconds: Int32,
            rebind: () -> (descriptor: Int32, file: FileIdentity?)?, wakeReader: Int32,
            continuation: AsyncStream<Void>.Continuation
        ) {
            var (socket, bound) = (socket, file)
            defer {
                Glibc.close(socket)
                Glibc.close(wakeReader)
                continuation.finish()
            }
            var descriptors = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
            ]
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let ready = poll(&descriptors, 2, checkMilliseconds)
                if ready < 0 {
                    if errno == EINTR { continue }
                    return
                }
                if descriptors[1].revents != 0 { return }
                if ready == 0 {
                    // A file that could not be identified after binding is not checked (not rebound
                    // every second).
                    guard bound != nil, let socketFile, FileIdentity(path: socketFile) == nil, let fresh = rebind()
                    else { continue }
                    Glibc.close(socket)
                    (socket, bound) = fresh
                    descriptors[0].fd = socket
                    // Rings sent while the file was missing were lost: look again.
                    continuation.yield()
                    continue
                }
                guard descriptors[0].revents != 0 else { continue }
                // Drain every queued datagram: they all mean the same thing.
                while recv(socket, &buffer, buffer.count, Int32(MSG_DONTWAIT)) >= 0 {}
                continuation.yield()
            }
        }
    }

    /// Where and how the listener binds its socket.
    private struct Binding: Sendable {
        var address: Address
        /// `<db>.sock`, named in errors even when the socket is abstract.
        var path: String
        var mode: mode_t

        /// The socket file; `nil` for an abstract name.
        var socketFile: String? { address.isAbstract ? nil : path }

        /// A new socket bound to the address (a file there is removed first), in `mode`, and the
        /// socket file it made (`nil` for an abstract name).
        func bind() throws(StoreError) -> (descriptor: Int32, file: FileIdentity?) {
            let descriptor = socket(
                AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: DatabaseFile.lastError()) }
            if let socketFile { unlink(socketFile) }
            var address = self.address
            let bound = withUnsafePointer(to: &address.address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, address.length) }
            }
            guard bound == 0, socketFile.map({ chmod($0, mode) == 0 }) ?? true else {
                let reason = DatabaseFile.lastError()
                Glibc.close(descriptor)
                if let socketFile { unlink(socketFile) }
                throw .cannotOpen(path: path, reason: reason)
            }
            return (descriptor, socketFile.flatMap(FileIdentity.init(path:)))
        }
    }

    struct Address: Sendable {
        var address: sockaddr_un
        var length: socklen_t
        var isAbstract: Bool
    }

    static func address(databasePath: String) -> Address {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let path = Array(socketPath(databasePath: databasePath).utf8)
        let isAbstract = path.count >= capacity
        // An abstract name starts with a NUL byte and is not NUL-terminated.
        let bytes = isAbstract ? [0] + Array("jobq-\(abstractKey(databasePath))".utf8) : path + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count - (isAbstract ? 0 : 1)
        return Address(address: address, length: socklen_t(length), isAbstract: isAbstract)
    }

    /// A stable hash (FNV-1a, 64 bits) of the database's real path, so two spellings of one
    /// long path meet at the same abstract name.
    private static func abstractKey(_ databasePath: String) -> String {
        var resolved = databasePath
        if let real = realpath(databasePath, nil) {
            resolved = String(cString: real)
            free(real)
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in resolved.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
