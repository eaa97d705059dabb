#if canImport(Glibc)
    import Glibc
#endif

/// The machine a benchmark ran on, printed above its figures so that numbers are never quoted bare.
public struct Machine: CustomStringConvertible, Sendable {
    /// The CPU model as /proc/cpuinfo names it.
    public let cpuModel: String
    /// Online CPUs.
    public let cores: Int
    /// The kernel release (`uname -r`).
    public let kernel: String
    /// When the benchmark started (UTC, to the minute).
    public let date: String

    /// The machine now.
    public static var current: Machine {
        Machine(cpuModel: cpuModel(), cores: sysconf(Int32(_SC_NPROCESSORS_ONLN)), kernel: kernel(), date: utcNow())
    }

    public var description: String {
        "machine: \(cpuModel), \(cores) cores, Linux \(kernel), \(date), load average \(Machine.loadAverage)"
    }

    /// The 1, 5 and 15 minute load averages, e.g. `1.52 1.10 0.93`: on a shared machine, the
    /// context every figure needs.
    public static var loadAverage: String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "unknown" }
        return loads.map { Stats.fixed($0, decimals: 2) }.joined(separator: " ")
    }

    /// The first "model name" line of /proc/cpuinfo.
    private static func cpuModel() -> String {
        guard let line = firstLine(of: "/proc/cpuinfo", startingWith: "model name"),
            let colon = line.firstIndex(of: ":")
        else { return "unknown CPU" }
        return String(line[line.index(after: colon)...].drop(while: { $0 == " " }))
    }

    private static func kernel() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func utcNow() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M UTC", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The first line of the text file at `path` that starts with `prefix`, without its newline;
/// `nil` if the file cannot be read or has no such line. For /proc files.
public func firstLine(of path: String, startingWith prefix: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0, let line {
        let text = String(cString: line)
        if text.hasPrefix(prefix) { return String(text.filter { $0 != "\n" }) }
    }
    return nil
}
