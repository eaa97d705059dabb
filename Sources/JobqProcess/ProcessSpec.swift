import JobqCore

/// Everything needed to start one job process.
public struct ProcessSpec: Sendable, Hashable {
    /// The program and its arguments. A bare `argv[0]` (no slash) is looked up in the `PATH` of `environment`
    /// (default `/bin:/usr/bin`), as `execvpe` would; one with a slash is taken relative to `workingDirectory`.
    public var argv: [String]
    /// The directory the process starts in.
    public var workingDirectory: String
    /// The complete environment of the process (nothing is inherited implicitly).
    public var environment: [String: String]
    /// How many bytes of the end of stdout and of stderr are kept (each); older output is discarded.
    public var outputTailLimit: Int
    /// After the main process exits, how long what it left in its process group gets between SIGTERM and
    /// SIGKILL.
    public var killGrace: Duration

    /// A process spec; `outputTailLimit` defaults to 64 KiB per stream and `killGrace` to 5 s, as in the spec.
    public init(
        argv: [String],
        workingDirectory: String,
        environment: [String: String],
        outputTailLimit: Int = 64 * 1024,
        killGrace: Duration = .seconds(5)
    ) {
        self.argv = argv
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.outputTailLimit = outputTailLimit
        self.killGrace = killGrace
    }

    /// A process spec for a job command: argv executed directly, or a script run by `/bin/sh -c`.
    public init(
        command: JobCommand,
        workingDirectory: String,
        environment: [String: String],
        outputTailLimit: Int = 64 * 1024,
        killGrace: Duration = .seconds(5)
    ) {
        self.init(
            argv: command.executableArgv,
            workingDirectory: workingDirectory,
            environment: environment,
            outputTailLimit: outputTailLimit,
            killGrace: killGrace
        )
    }
}

/// A snapshot of what a process has written so far: the kept tail of each stream and how much was written.
public struct ProcessOutput: Sendable, Hashable {
    /// The last bytes written to stdout (at most the spec's `outputTailLimit`).
    public var stdout: [UInt8]
    /// The last bytes written to stderr (at most the spec's `outputTailLimit`).
    public var stderr: [UInt8]
    /// Every byte read from stdout, including those no longer kept.
    public var stdoutByteCount: UInt64
    /// Every byte read from stderr, including those no longer kept.
    public var stderrByteCount: UInt64

    /// A snapshot (mainly for tests and for stores that rebuild one).
    public init(stdout: [UInt8], stderr: [UInt8], stdoutByteCount: UInt64, stderrByteCount: UInt64) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutByteCount = stdoutByteCount
        self.stderrByteCount = stderrByteCount
    }
}

/// The last `limit` bytes of a stream, in a fixed ring so a process writing gigabytes costs O(limit) memory.
struct OutputTail: Sendable {
    let limit: Int
    private var ring: [UInt8] = []
    /// Where the oldest byte is once the ring is full.
    private var start = 0
    private(set) var totalBytes: UInt64 = 0

    init(limit: Int) {
        self.limit = max(0, limit)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        totalBytes += UInt64(bytes.count)
        guard limit > 0, !bytes.isEmpty else { return }
        if bytes.count >= limit {
            ring = Array(bytes[(bytes.count - limit)...])
            start = 0
            return
        }
        let room = limit - ring.count
        if room > 0 {
            let direct = min(room, bytes.count)
            ring.append(contentsOf: bytes[..<direct])
            if direct == bytes.count { return }
            overwrite(bytes[direct...])
        } else {
            overwrite(bytes[...])
        }
    }

    /// Overwrites the oldest bytes of a full ring with `bytes` (fewer than `limit`).
    private mutating func overwrite(_ bytes: Slice<UnsafeRawBufferPointer>) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let chunk = min(limit - start, bytes.endIndex - index)
            ring.withUnsafeMutableBytes { target in
                let source = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + chunk)])
                target.baseAddress!.advanced(by: start).copyMemory(from: source.baseAddress!, byteCount: chunk)
            }
            index += chunk
            start = (start + chunk) % limit
        }
    }

    /// The kept bytes, oldest first.
    var bytes: [UInt8] {
        if start == 0 { return ring }
        return Array(ring[start...] + ring[..<start])
    }
}
