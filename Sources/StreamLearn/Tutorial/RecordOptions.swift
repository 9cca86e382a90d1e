import StreamLearnCore

/// The record-format options that `train` and `evaluate` share: where the label is.
enum RecordOptions {
    /// `--label key|column:N`.
    static let label = OptionSpec.value(
        "label",
        "key|column:N",
        help:
            "where the label (0 or 1) is: the message key (default, as in the tutorial) or field N of the value, from 0"
    )

    /// Reads `--label` for records of `featureCount` features; a usage error names the flag.
    ///
    /// With `column:N` the value holds `featureCount + 1` fields, N from 0 to `featureCount`.
    static func labelSource(_ arguments: ParsedArguments, featureCount: Int) throws -> RecordDecoder.LabelSource {
        guard let text = arguments.string("label"), text != "key" else { return .key }
        let prefix = "column:"
        guard text.hasPrefix(prefix), let index = Int(text.dropFirst(prefix.count)),
            (0...featureCount).contains(index)
        else {
            throw arguments.usage(
                "option '--label' must be 'key' or 'column:N' with N from 0 to \(featureCount), got '\(text)'"
            )
        }
        return .column(index)
    }

    /// "the message key" or "field 3 of the value", for messages.
    static func describe(_ label: RecordDecoder.LabelSource) -> String {
        switch label {
        case .key: "the message key"
        case .column(let index): "field \(index) of the value"
        case .none: "none"
        }
    }
}
