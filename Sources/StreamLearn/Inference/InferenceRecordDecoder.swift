import StreamLearnCore

/// Decodes inference records: like training records, except that a record without a label is
/// scored rather than refused.
///
/// With the label in the key, a null or empty key means "no label"; any other key must be a
/// label (0 or 1), so a key like "user-7" is a `badLabel` record, as it is for training. With
/// the label in a column, every record has one. A value type; use it from any thread.
struct InferenceRecordDecoder: Sendable {
    let labelled: RecordDecoder
    private let unlabelled: RecordDecoder

    init(_ decoder: RecordDecoder) {
        labelled = decoder
        unlabelled = RecordDecoder(
            featureCount: decoder.featureCount,
            label: .none,
            maxValueBytes: decoder.maxValueBytes
        )
    }

    var featureCount: Int { labelled.featureCount }

    /// Decodes into `features` (exactly `featureCount` Floats) and returns the label, or nil
    /// for an unlabelled record.
    func decode(
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        into features: UnsafeMutableBufferPointer<Float>
    ) throws(DecodeFailure) -> Float? {
        if labelled.label == .key, key.map({ $0.isEmpty }) ?? true {
            return try unlabelled.decode(key: key, value: value, into: features)
        }
        return try labelled.decode(key: key, value: value, into: features)
    }
}
