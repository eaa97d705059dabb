/// The process's arguments as text, without Foundation.
public enum ProcessArguments {
    /// An argument that is not valid UTF-8, by its position (1: the first after the program name).
    public struct NotUTF8: Error, Equatable {
        public var index: Int
    }

    /// The arguments after the program name. An argument that is not valid UTF-8 is refused
    /// rather than read with its bad bytes replaced, as Swift's `CommandLine.arguments` does:
    /// jobq keeps commands and paths as text, and would otherwise pass on or open something
    /// other than it was given.
    public static func decoded() throws(NotUTF8) -> [String] {
        var arguments: [String] = []
        for index in stride(from: 1, to: Int(CommandLine.argc), by: 1) {
            guard let raw = CommandLine.unsafeArgv[index] else { break }
            guard let argument = String(validatingCString: raw) else { throw NotUTF8(index: index) }
            arguments.append(argument)
        }
        return arguments
    }
}
