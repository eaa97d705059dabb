/// `--name value` options given to a suite, parsed once and read by name.
struct BenchmarkOptions {
    /// An option that is missing its value or is not a whole number where one is needed.
    struct InvalidOption: Error, CustomStringConvertible {
        let option: String
        let reason: String
        var description: String { "option --\(option): \(reason)" }
    }

    private var values: [String: String] = [:]

    init(parsing arguments: ArraySlice<String>) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw InvalidOption(option: argument, reason: "expected --NAME VALUE")
            }
            let name = String(argument.dropFirst(2))
            guard let value = rest.popFirst() else { throw InvalidOption(option: name, reason: "missing value") }
            values[name] = value
        }
    }

    /// The text given for `name`, if any.
    func string(_ name: String) -> String? { values[name] }

    /// The positive whole number given for `name`, or `defaultValue` when it was not given.
    func positiveInt(_ name: String, default defaultValue: Int) throws -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let value = Int(text.filter { $0 != "_" }), value > 0 else {
            throw InvalidOption(option: name, reason: "'\(text)' is not a positive whole number")
        }
        return value
    }
}
