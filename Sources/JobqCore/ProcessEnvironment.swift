#if canImport(Glibc)
    import Glibc
#endif

/// The process environment as a dictionary, without Foundation: `environ` read once, at first
/// use (jobq and jobqd never change their own environment), so that `current` and `notUTF8`
/// always describe the same snapshot.
public enum ProcessEnvironment {
    /// The environment, without the variables whose name or value is not valid UTF-8
    /// (`notUTF8` names them): jobq keeps names, paths and commands as text, and such a variable
    /// would reach whoever reads it with other bytes than it holds.
    public static var current: [String: String] {
        snapshot.variables
    }

    /// The variables `current` leaves out because their name or value is not valid UTF-8 (a
    /// name that is not valid UTF-8 itself shows its bad bytes as U+FFFD).
    public static var notUTF8: Set<String> {
        snapshot.notUTF8
    }

    private static let snapshot = read()

    private static func read() -> (variables: [String: String], notUTF8: Set<String>) {
        var variables: [String: String] = [:]
        var notUTF8 = Set<String>()
        var pointer = environ
        while let entry = pointer.pointee {
            pointer += 1
            guard let equals = strchr(entry, Int32(UInt8(ascii: "="))) else { continue }
            let nameBytes = UnsafeBufferPointer(
                start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self),
                count: equals - entry)
            let name = String(validating: nameBytes, as: UTF8.self)
            guard let name, let value = String(validatingCString: equals + 1) else {
                notUTF8.insert(name ?? String(decoding: nameBytes, as: UTF8.self))
                continue
            }
            variables[name] = value
        }
        return (variables, notUTF8)
    }
}
