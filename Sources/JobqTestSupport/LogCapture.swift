import Glibc
import Logging
import Synchronization

/// Keeps what a component logs, so that tests can see what it decided or reported.
/// `JOBQ_TEST_LOG=1` also echoes each record to stderr while a test runs.
public final class LogCapture: Sendable {
    /// One log record: its level and its message, followed by its metadata as sorted `key=value` pairs.
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var text: String
    }

    private let records = Mutex<[Record]>([])

    public init() {}

    /// A logger that records everything at `level` and above (debug by default).
    public func logger(level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: "jobq-test") { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    /// How many records had exactly this message.
    public func count(_ message: String) -> Int {
        records.withLock { $0.filter { $0.message == message }.count }
    }

    /// How many records had exactly this message and, among their metadata, the pair `key=value`.
    public func count(_ message: String, with key: String, _ value: String) -> Int {
        records.withLock { $0.filter { $0.message == message && $0.text.contains(" \(key)=\(value)") }.count }
    }

    /// The records of error level or worse, as text: message and metadata.
    public var errors: [String] {
        records.withLock { $0.filter { $0.level >= .error }.map(\.text) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = metadata.merging(event.metadata ?? [:]) { $1 }.map { "\($0.key)=\($0.value)" }.sorted()
            let message = event.message.description
            let text = ([message] + fields).joined(separator: " ")
            capture.records.withLock { $0.append(Record(level: event.level, message: message, text: text)) }
            if getenv("JOBQ_TEST_LOG") != nil {
                let line = "\(event.level) \(text)\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
            }
        }
    }
}
