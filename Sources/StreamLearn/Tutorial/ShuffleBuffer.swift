import StreamLearnCore

/// A shuffle buffer with tf.data's semantics: it holds up to `capacity` records; once full, each
/// new record makes it hand out one held record drawn uniformly at random, and the new record
/// takes that record's place. At the end of the input, `drain` hands out the rest in random
/// order. The k-th record out (from 0) is therefore one of the first `capacity + k` records in.
///
/// Records are rows of `featureCount` Floats plus a label. The caller decodes the next record
/// straight into `nextRow` (a spare slot) and then calls `insert(label:emit:)`; a record that
/// fails to decode is simply never inserted, and the spare slot is reused. Nothing is allocated
/// or copied per record: `emit` receives a view of the slot, valid only during the call.
///
/// Memory: `(capacity + 1) * (featureCount + 1)` Floats plus `capacity` slot indices, allocated
/// once. Not thread-safe: one owner (the training loop).
final class ShuffleBuffer {
    /// The most records held at once (tf.data's `buffer_size`); 1 keeps the input order.
    let capacity: Int
    let featureCount: Int

    /// The generator behind the draws; advances with every draw.
    private(set) var generator: RandomGenerator

    /// Records held now.
    private(set) var count = 0

    // Slot storage: capacity + 1 rows, one of them the spare that the next record is decoded into.
    private let rows: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<Float>
    // `held[0..<count]` are the slots of the records held, in no particular order.
    private let held: UnsafeMutablePointer<Int>
    private var spare: Int

    /// An empty buffer; `capacity` and `featureCount` must be at least 1 (the command checks
    /// the operator's values first).
    init(capacity: Int, featureCount: Int, generator: RandomGenerator) {
        precondition(capacity >= 1, "a shuffle buffer holds at least one record, got \(capacity)")
        precondition(featureCount >= 1, "a record has at least one feature, got \(featureCount)")
        self.capacity = capacity
        self.featureCount = featureCount
        self.generator = generator
        rows = .allocate(capacity: (capacity + 1) * featureCount)
        rows.initialize(repeating: 0, count: (capacity + 1) * featureCount)
        labels = .allocate(capacity: capacity + 1)
        labels.initialize(repeating: 0, count: capacity + 1)
        held = .allocate(capacity: capacity)
        held.initialize(repeating: 0, count: capacity)
        spare = 0
    }

    deinit {
        rows.deallocate()
        labels.deallocate()
        held.deallocate()
    }

    /// The spare slot: decode the next record into it, then `insert` it. Its contents are
    /// unspecified until then, and it changes after every `insert`.
    var nextRow: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: rows + spare * featureCount, count: featureCount)
    }

    /// Takes the record in `nextRow`, with `label`. When the buffer is full, first hands one
    /// held record, drawn uniformly, to `emit` (features and label), and the new record takes
    /// its slot.
    @inline(__always)
    func insert(label: Float, emit: (UnsafeBufferPointer<Float>, Float) throws -> Void) rethrows {
        labels[spare] = label
        guard count == capacity else {
            held[count] = spare
            count += 1
            // While filling, the next free slot is simply the next index: slots 0...count are
            // used or spare, and slot `count` has never been handed out.
            spare = count
            return
        }
        let drawn = generator.nextIndex(below: count)
        let slot = held[drawn]
        try emit(UnsafeBufferPointer(start: rows + slot * featureCount, count: featureCount), labels[slot])
        held[drawn] = spare
        spare = slot
    }

    /// Hands every held record to `emit` in uniformly random order and empties the buffer,
    /// ready for the next pass (the generator carries on, so each pass has its own order).
    func drain(emit: (UnsafeBufferPointer<Float>, Float) throws -> Void) rethrows {
        while count > 0 {
            let drawn = generator.nextIndex(below: count)
            let slot = held[drawn]
            try emit(UnsafeBufferPointer(start: rows + slot * featureCount, count: featureCount), labels[slot])
            count -= 1
            held[drawn] = held[count]
        }
        spare = 0
    }
}
