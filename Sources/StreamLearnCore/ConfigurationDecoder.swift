/// A position in a configuration document, rendered as people write it in error messages:
/// `training.batch_size`, `model.hidden[1]`, `kafka."bootstrap.servers"`.
struct ConfigurationKeyPath: Equatable, Sendable, CustomStringConvertible {
    enum Component: Equatable, Sendable {
        case key(String)
        case index(Int)
    }

    private(set) var components: [Component]

    static let root = ConfigurationKeyPath()

    /// The path of nested keys, `ConfigurationKeyPath("training", "format")`.
    init(_ keys: String...) {
        components = keys.map { .key($0) }
    }

    private init(components: [Component]) {
        self.components = components
    }

    func appending(_ key: String) -> ConfigurationKeyPath {
        ConfigurationKeyPath(components: components + [.key(key)])
    }

    func appending(index: Int) -> ConfigurationKeyPath {
        ConfigurationKeyPath(components: components + [.index(index)])
    }

    /// Keys that are plain identifiers print bare; any other key (librdkafka's dotted property
    /// names, keys with spaces) prints in double quotes so the path stays unambiguous.
    var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += Self.isIdentifier(key) ? key : Self.quoted(key)
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    private static func isIdentifier(_ key: String) -> Bool {
        func isLetter(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        }
        guard let first = key.unicodeScalars.first, isLetter(first) else { return false }
        return key.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }

    private static func quoted(_ key: String) -> String {
        let escaped = key.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
        return "\"" + escaped + "\""
    }
}

/// Walks a parsed document along a schema and collects every problem instead of stopping at
/// the first, so that an operator fixes a configuration in one round.
///
/// Each reading method returns nil when the key is absent or its value is unusable; in the
/// second case it has already recorded a problem. Callers substitute defaults and carry on.
/// Not thread-safe; lives for one decoding.
final class ConfigurationDecoder {
    /// Known keys per object, by rendered key path ("" is the document itself). Used to reject
    /// unknown keys and to suggest the key that was probably meant.
    let schema: [String: [String]]

    private(set) var problems: [ConfigurationProblem] = []

    init(schema: [String: [String]]) {
        self.schema = schema
    }

    func report(_ path: ConfigurationKeyPath, _ detail: String) {
        problems.append(ConfigurationProblem(keyPath: path.description, detail: detail))
    }

    /// Records a problem found outside the decoder (librdkafka's verdict on a property).
    func report(_ problem: ConfigurationProblem) {
        problems.append(problem)
    }

    /// Opens `value` as an object whose keys are `schema[path]`; reports duplicate and unknown
    /// keys right away. With `checksKeys` false any key is accepted (the kafka section).
    func object(_ value: JSONValue, at path: ConfigurationKeyPath, checksKeys: Bool = true) -> ObjectReader? {
        guard case .object(let members) = value else {
            report(path, "must be an object, got \(value.typeName)")
            return nil
        }
        var seen: Set<String> = []
        for member in members {
            let memberPath = path.appending(member.key)
            if !seen.insert(member.key).inserted {
                report(memberPath, "appears more than once")
            } else if checksKeys, !(schema[path.description] ?? []).contains(member.key) {
                report(memberPath, unknownKeyDetail(member.key, in: path))
            }
        }
        return ObjectReader(decoder: self, path: path, members: members)
    }

    /// "is not a known key; did you mean training.batch_size?", looking first for a near miss
    /// in the same object, then for the same key in another section, then listing the choices.
    private func unknownKeyDetail(_ key: String, in path: ConfigurationKeyPath) -> String {
        let known = schema[path.description] ?? []
        if let nearest = Self.nearest(to: key, among: known) {
            return "is not a known key; did you mean \(path.appending(nearest))?"
        }
        let elsewhere = schema.keys.sorted().filter { $0 != path.description && schema[$0]!.contains(key) }
        if let section = elsewhere.first {
            let components = section.isEmpty ? [] : section.split(separator: ".").map { String($0) }
            let other = components.reduce(ConfigurationKeyPath.root) { $0.appending($1) }.appending(key)
            return "is not a known key here; did you mean \(other)?"
        }
        if known.isEmpty { return "is not a known key" }
        return "is not a known key; known keys: " + known.joined(separator: ", ")
    }

    /// The candidate closest to `word` by edit distance (case-insensitive, '-' same as '_'),
    /// when it is close enough to be a plausible typo: at most a third of its length, at most 3.
    static func nearest(to word: String, among candidates: [String]) -> String? {
        func normalized(_ text: String) -> [Character] {
            Array(text.lowercased().replacingOccurrences(of: "-", with: "_"))
        }
        let target = normalized(word)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(target, normalized(candidate))
            let allowed = min(3, max(1, candidate.count / 3))
            guard distance <= allowed, distance < candidate.count else { continue }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters each cost 1 ("batchsize" -> "batch_size" is 1, "sede" -> "seed" 1).
    static func editDistance(_ lhs: [Character], _ rhs: [Character]) -> Int {
        if lhs.isEmpty { return rhs.count }
        if rhs.isEmpty { return lhs.count }
        let width = rhs.count + 1
        // Three rows of the dynamic-programming table: two back (for swaps), previous, current.
        var twoBack = [Int](repeating: 0, count: width)
        var previous = Array(0...rhs.count)
        var current = [Int](repeating: 0, count: width)
        for i in 1...lhs.count {
            current[0] = i
            for j in 1...rhs.count {
                let cost = lhs[i - 1] == rhs[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, lhs[i - 1] == rhs[j - 2], lhs[i - 2] == rhs[j - 1] {
                    value = min(value, twoBack[j - 2] + 1)
                }
                current[j] = value
            }
            (twoBack, previous, current) = (previous, current, twoBack)
        }
        return previous[rhs.count]
    }
}

/// Typed access to the members of one JSON object, reporting problems to its decoder.
///
/// When a key appears more than once the first occurrence is used (the duplicate has been
/// reported already).
struct ObjectReader {
    let decoder: ConfigurationDecoder
    let path: ConfigurationKeyPath
    let members: [JSONMember]

    /// The raw value of `key`, or nil (reporting "is required" when `isRequired`).
    func value(_ key: String, isRequired: Bool = false) -> JSONValue? {
        if let member = members.first(where: { $0.key == key }) { return member.value }
        if isRequired { decoder.report(path.appending(key), "is required") }
        return nil
    }

    func has(_ key: String) -> Bool { members.contains { $0.key == key } }

    func object(_ key: String, isRequired: Bool = false, checksKeys: Bool = true) -> ObjectReader? {
        guard let value = value(key, isRequired: isRequired) else { return nil }
        return decoder.object(value, at: path.appending(key), checksKeys: checksKeys)
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            decoder.report(path.appending(key), "must be a boolean (true or false), got \(value.typeName)")
            return nil
        }
        return flag
    }

    /// A non-empty string.
    func string(_ key: String, isRequired: Bool = false) -> String? {
        guard let value = value(key, isRequired: isRequired) else { return nil }
        return Self.string(value, at: path.appending(key), decoder: decoder)
    }

    /// One of `choices`, spelled exactly.
    func choice(_ key: String, among choices: [String]) -> String? {
        guard let text = string(key) else { return nil }
        guard choices.contains(text) else {
            let listed = choices.map { "\"\($0)\"" }.joined(separator: ", ")
            decoder.report(path.appending(key), "must be one of \(listed), got \"\(text)\"")
            return nil
        }
        return text
    }

    func integer(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = value(key) else { return nil }
        return Self.integer(value, at: path.appending(key), in: range, decoder: decoder)
    }

    func unsignedInteger(_ key: String) -> UInt64? {
        guard let value = value(key) else { return nil }
        let keyPath = path.appending(key)
        guard case .number(let number) = value else {
            decoder.report(keyPath, "must be an integer, got \(value.typeName)")
            return nil
        }
        guard let result = number.uint64Value else {
            decoder.report(keyPath, "must be an integer between 0 and \(UInt64.max), got \(number.literal)")
            return nil
        }
        return result
    }

    func number(_ key: String, in range: NumberRange) -> Double? {
        guard let value = value(key) else { return nil }
        return Self.number(value, at: path.appending(key), in: range, decoder: decoder)
    }

    /// An array whose elements are each read by `element`; nil if any element is unusable.
    /// `typeName` completes "must be an array of ...".
    func array<Element>(
        _ key: String,
        of typeName: String,
        isRequired: Bool = false,
        element: (JSONValue, ConfigurationKeyPath) -> Element?
    ) -> [Element]? {
        guard let value = value(key, isRequired: isRequired) else { return nil }
        let keyPath = path.appending(key)
        guard case .array(let items) = value else {
            decoder.report(keyPath, "must be an array of \(typeName), got \(value.typeName)")
            return nil
        }
        var result: [Element] = []
        for (index, item) in items.enumerated() {
            if let converted = element(item, keyPath.appending(index: index)) { result.append(converted) }
        }
        return result.count == items.count ? result : nil
    }

    static func string(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        decoder: ConfigurationDecoder
    ) -> String? {
        guard case .string(let text) = value else {
            decoder.report(path, "must be a string, got \(value.typeName)")
            return nil
        }
        guard !text.isEmpty else {
            decoder.report(path, "must not be empty")
            return nil
        }
        return text
    }

    static func integer(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        in range: ClosedRange<Int>,
        decoder: ConfigurationDecoder
    ) -> Int? {
        guard case .number(let number) = value else {
            decoder.report(path, "must be an integer, got \(value.typeName)")
            return nil
        }
        let bounds = "between \(range.lowerBound) and \(range.upperBound)"
        guard let whole = number.int64Value else {
            // A whole number that does not fit is out of range; anything else is not whole.
            let isWhole = number.doubleValue.rounded() == number.doubleValue
            decoder.report(
                path,
                isWhole
                    ? "must be \(bounds), got \(number.literal)"
                    : "must be an integer, got \(number.literal)"
            )
            return nil
        }
        guard whole >= Int64(range.lowerBound), whole <= Int64(range.upperBound) else {
            decoder.report(path, "must be \(bounds), got \(number.literal)")
            return nil
        }
        return Int(whole)
    }

    static func number(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        in range: NumberRange,
        decoder: ConfigurationDecoder
    ) -> Double? {
        guard case .number(let number) = value else {
            decoder.report(path, "must be a number, got \(value.typeName)")
            return nil
        }
        let result = number.doubleValue
        guard range.contains(result) else {
            decoder.report(path, "must be \(range), got \(number.literal)")
            return nil
        }
        return result
    }
}

/// An interval of allowed numbers whose ends may be open, printed as the end of the sentence
/// "must be ...": "between 0.1 and 86400", "at least 0 and less than 1".
struct NumberRange: Sendable, CustomStringConvertible {
    var lowerBound: Double
    var includesLowerBound: Bool
    var upperBound: Double
    var includesUpperBound: Bool

    static func closed(_ lower: Double, _ upper: Double) -> NumberRange {
        NumberRange(lowerBound: lower, includesLowerBound: true, upperBound: upper, includesUpperBound: true)
    }

    func contains(_ value: Double) -> Bool {
        (includesLowerBound ? value >= lowerBound : value > lowerBound)
            && (includesUpperBound ? value <= upperBound : value < upperBound)
    }

    var description: String {
        let lower = Self.format(lowerBound)
        let upper = Self.format(upperBound)
        switch (includesLowerBound, includesUpperBound) {
        case (true, true): return "between \(lower) and \(upper)"
        case (false, true): return "greater than \(lower) and at most \(upper)"
        case (true, false): return "at least \(lower) and less than \(upper)"
        case (false, false): return "greater than \(lower) and less than \(upper)"
        }
    }

    /// Whole numbers without ".0", others in Swift's shortest round-trip form.
    static func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
