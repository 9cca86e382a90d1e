import Foundation
import StreamLearnCore

/// One option a command accepts: `--name VALUE`, `--name`, or a repeated `--name VALUE`.
public struct OptionSpec: Sendable {
    public let name: String
    public let short: Character?
    public let valueName: String?
    public let isRepeatable: Bool
    public let help: String

    /// An option that takes a value (`valueName`), optionally repeated.
    public static func value(
        _ name: String,
        short: Character? = nil,
        _ valueName: String,
        repeatable: Bool = false,
        help: String
    ) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: valueName, isRepeatable: repeatable, help: help)
    }

    /// An option without a value.
    public static func flag(_ name: String, short: Character? = nil, help: String) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: nil, isRepeatable: false, help: help)
    }

    /// `-b/--bootstrap-server`, shared by every command that talks to Kafka.
    public static let bootstrapServer = OptionSpec.value(
        "bootstrap-server",
        short: "b",
        "HOST:PORT[,...]",
        help: "Kafka bootstrap servers (required)"
    )

    /// `-X key=value`, any librdkafka property, as in kcat.
    public static let property = OptionSpec.value(
        "property",
        short: "X",
        "KEY=VALUE",
        repeatable: true,
        help: "librdkafka property, may be repeated"
    )
}

/// What a command's `--help` prints and how its arguments are read.
public struct CommandSpec: Sendable {
    public let name: String
    public let summary: String
    public let usage: String
    public let options: [OptionSpec]
    public let discussion: String

    public init(
        name: String,
        summary: String,
        usage: String,
        options: [OptionSpec],
        discussion: String = ""
    ) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.options = options
        self.discussion = discussion
    }

    /// The text `--help` prints.
    public var helpText: String {
        var text = "\(summary)\n\nUsage: \(usage)\n"
        if !discussion.isEmpty { text += "\n\(discussion)\n" }
        if !options.isEmpty {
            text += "\nOptions:\n"
            let all = options + [.flag("help", short: "h", help: "show this help")]
            for option in all {
                var left = "  "
                if let short = option.short { left += "-\(short), " } else { left += "    " }
                left += "--\(option.name)"
                if let valueName = option.valueName { left += " \(valueName)" }
                let padded =
                    left.count < 34 ? left.padding(toLength: 34, withPad: " ", startingAt: 0) : left + "  "
                text += padded + option.help + "\n"
            }
        }
        return text
    }

    /// Reads `arguments` against the options; throws a usage error naming the bad argument.
    public func parse(_ arguments: [String]) throws -> ParsedArguments {
        var parsed = ParsedArguments(command: name)
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" {
                parsed.isHelpRequested = true
                continue
            }
            if argument == "--" {
                parsed.positionals.append(contentsOf: arguments[index...])
                break
            }
            guard argument.hasPrefix("-"), argument.count > 1, !isNegativeNumber(argument) else {
                parsed.positionals.append(argument)
                continue
            }
            var name: Substring
            var inlineValue: String?
            let option: OptionSpec
            if argument.hasPrefix("--") {
                name = argument.dropFirst(2)
                if let equals = name.firstIndex(of: "=") {
                    inlineValue = String(name[name.index(after: equals)...])
                    name = name[..<equals]
                }
                guard let found = options.first(where: { $0.name == name }) else {
                    throw usageError("unknown option '--\(name)'")
                }
                option = found
            } else {
                let letter = argument[argument.index(after: argument.startIndex)]
                guard let found = options.first(where: { $0.short == letter }) else {
                    throw usageError("unknown option '-\(letter)'")
                }
                option = found
                if argument.count > 2 { inlineValue = String(argument.dropFirst(2)) }
            }
            if option.valueName == nil {
                if inlineValue != nil { throw usageError("option '--\(option.name)' takes no value") }
                parsed.flags.insert(option.name)
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else {
                guard index < arguments.count else {
                    throw usageError("option '--\(option.name)' needs a value (\(option.valueName!))")
                }
                value = arguments[index]
                index += 1
            }
            if !option.isRepeatable, parsed.values[option.name] != nil {
                throw usageError("option '--\(option.name)' given twice")
            }
            parsed.values[option.name, default: []].append(value)
        }
        return parsed
    }

    private func usageError(_ text: String) -> CommandError {
        CommandError(.usage, "streamlearn \(name): \(text); see 'streamlearn \(name) --help'")
    }

    private func isNegativeNumber(_ text: String) -> Bool {
        Double(text) != nil
    }
}

/// The result of `CommandSpec.parse`: typed accessors that throw usage errors naming the flag.
public struct ParsedArguments: Sendable {
    public let command: String
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []
    public var isHelpRequested = false

    public init(command: String) {
        self.command = command
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    public func string(_ name: String) -> String? { values[name]?.last }

    public func strings(_ name: String) -> [String] { values[name] ?? [] }

    /// The value of a required option, or a usage error that names it.
    public func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw usage("missing required option '--\(name)'") }
        return value
    }

    /// An integer option within `range`, or `defaultValue` when absent.
    public func int(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw usage(
                "option '--\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound), "
                    + "got '\(text)'"
            )
        }
        return value
    }

    /// A floating-point option within `range`, or `defaultValue` when absent.
    public func double(
        _ name: String,
        default defaultValue: Double,
        in range: ClosedRange<Double>
    ) throws -> Double {
        guard let text = string(name) else { return defaultValue }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw usage(
                "option '--\(name)' must be a number from \(range.lowerBound) to \(range.upperBound), "
                    + "got '\(text)'"
            )
        }
        return value
    }

    /// `-X key=value` properties in the order given.
    public func properties() throws -> [(key: String, value: String)] {
        try strings("property").map { text in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw usage("option '-X' takes KEY=VALUE, got '\(text)'")
            }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }

    /// A usage error (exit 64) that points at the command's help.
    public func usage(_ text: String) -> CommandError {
        CommandError(.usage, "streamlearn \(command): \(text); see 'streamlearn \(command) --help'")
    }
}
