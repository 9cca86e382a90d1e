/// Zero-initialised memory for `capacity` elements, aligned to 64 bytes (one cache line, one
/// AVX-512 register), owned by this object and freed with it.
///
/// The model's parameters, gradients, moments and per-batch scratch live in these so that
/// BLAS and the fused loops get aligned, stable pointers with no copy-on-write. Not
/// thread-safe; the model that owns a buffer is its only user.
final class AlignedBuffer<Element: BitwiseCopyable> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 0, "buffer capacity \(capacity) is negative")
        self.capacity = capacity
        pointer = Self.allocateZeroed(capacity)
    }

    /// A buffer holding a copy of `values`.
    convenience init(copying values: [Element]) {
        self.init(capacity: values.count)
        values.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            pointer.update(from: base, count: source.count)
        }
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    /// Makes room for at least `count` elements. Growing discards the contents (the buffer is
    /// scratch then) and leaves zeros; a smaller or equal `count` changes nothing.
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        UnsafeMutableRawPointer(pointer).deallocate()
        pointer = Self.allocateZeroed(count)
        capacity = count
    }

    /// The first `count` elements as an array.
    func array(count: Int) -> [Element] {
        precondition(count <= capacity, "asked for \(count) elements of a buffer of \(capacity)")
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    private static func allocateZeroed(_ count: Int) -> UnsafeMutablePointer<Element> {
        let byteCount = max(count, 1) * MemoryLayout<Element>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return raw.bindMemory(to: Element.self, capacity: max(count, 1))
    }
}
