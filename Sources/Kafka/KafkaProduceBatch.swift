import CRdKafka

/// Messages collected for one `KafkaProducer.send(_:topic:)` call, the fast path for bulk loads.
///
/// Keys and values are copied into one growing byte arena on `append` (a `memcpy`, no allocation
/// per message once the arena has grown), and the batch is handed to `rd_kafka_produce_batch`,
/// which copies each message once more into librdkafka's own buffer. Reuse one batch: `send`
/// empties it. Not thread-safe: fill it on one thread.
public final class KafkaProduceBatch {
    /// The most messages the batch holds.
    public let capacity: Int

    /// Messages appended since the batch was last sent or emptied.
    public private(set) var count = 0

    private struct Entry {
        var keyStart: Int
        var keyLength: Int  // -1: no key
        var valueStart: Int
        var valueLength: Int  // -1: null value
        var partition: Int32
        var tag: UInt
    }

    private let entries: UnsafeMutablePointer<Entry>
    private let messages: UnsafeMutablePointer<rd_kafka_message_t>
    private var arena: UnsafeMutableRawPointer
    private var arenaCapacity: Int
    private var arenaUsed = 0

    /// A batch for up to `capacity` messages (at least 1); `bytesPerMessage` sizes the first
    /// arena (it grows as needed).
    public init(capacity: Int, bytesPerMessage: Int = 128) {
        precondition(capacity > 0, "a produce batch needs a capacity of at least 1")
        self.capacity = capacity
        entries = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
        arenaCapacity = Swift.max(capacity * Swift.max(bytesPerMessage, 1), 4096)
        arena = .allocate(byteCount: arenaCapacity, alignment: 16)
    }

    deinit {
        entries.deallocate()
        messages.deallocate()
        arena.deallocate()
    }

    /// True when no more messages fit.
    public var isFull: Bool { count == capacity }

    public var isEmpty: Bool { count == 0 }

    /// Appends a message; `partition` nil lets the producer's partitioner choose. The bytes are
    /// copied, so the buffers may be reused at once. Appending to a full batch is a programmer
    /// error (check `isFull`).
    public func append(
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        partition: Int32? = nil,
        tag: UInt = 0
    ) {
        precondition(!isFull, "KafkaProduceBatch.append on a full batch")
        let keyStart = copy(key)
        let valueStart = copy(value)
        entries[count] = Entry(
            keyStart: keyStart,
            keyLength: key?.count ?? -1,
            valueStart: valueStart,
            valueLength: value?.count ?? -1,
            partition: partition ?? -1,
            tag: tag
        )
        count += 1
    }

    /// Appends a message whose value `write` produces in place: it gets a buffer of
    /// `maximumValueCount` bytes and returns how many it used. Saves one copy when the value is
    /// being encoded anyway.
    public func append<Failure: Error>(
        key: UnsafeRawBufferPointer?,
        maximumValueCount: Int,
        partition: Int32? = nil,
        tag: UInt = 0,
        writingValue write: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) {
        precondition(!isFull, "KafkaProduceBatch.append on a full batch")
        let keyStart = copy(key)
        reserve(maximumValueCount)
        let valueStart = arenaUsed
        let used = try write(
            UnsafeMutableRawBufferPointer(start: arena + valueStart, count: maximumValueCount)
        )
        precondition(
            used >= 0 && used <= maximumValueCount,
            "value writer used \(used) of \(maximumValueCount) bytes"
        )
        arenaUsed += used
        entries[count] = Entry(
            keyStart: keyStart,
            keyLength: key?.count ?? -1,
            valueStart: valueStart,
            valueLength: used,
            partition: partition ?? -1,
            tag: tag
        )
        count += 1
    }

    /// Empties the batch, keeping its memory.
    public func removeAll() {
        count = 0
        arenaUsed = 0
    }

    /// Lays the batch out as `rd_kafka_message_t` values pointing into the arena, which stays
    /// put until the next append.
    func withMessages<Result>(
        _ body: (UnsafeMutableBufferPointer<rd_kafka_message_t>) throws -> Result
    ) rethrows -> Result {
        for index in 0..<count {
            let entry = entries[index]
            var message = rd_kafka_message_t()
            message.partition = entry.partition
            if entry.keyLength >= 0 {
                message.key = arena + entry.keyStart
                message.key_len = entry.keyLength
            }
            if entry.valueLength >= 0 {
                message.payload = arena + entry.valueStart
                message.len = entry.valueLength
            }
            message._private = UnsafeMutableRawPointer(bitPattern: entry.tag)
            messages[index] = message
        }
        return try body(UnsafeMutableBufferPointer(start: messages, count: count))
    }

    private func copy(_ bytes: UnsafeRawBufferPointer?) -> Int {
        let start = arenaUsed
        guard let bytes, let base = bytes.baseAddress, bytes.count > 0 else { return start }
        reserve(bytes.count)
        (arena + start).copyMemory(from: base, byteCount: bytes.count)
        arenaUsed += bytes.count
        return start
    }

    private func reserve(_ byteCount: Int) {
        guard arenaUsed + byteCount > arenaCapacity else { return }
        var newCapacity = arenaCapacity * 2
        while arenaUsed + byteCount > newCapacity { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: arena, byteCount: arenaUsed)
        arena.deallocate()
        arena = grown
        arenaCapacity = newCapacity
    }
}
