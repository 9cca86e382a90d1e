import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one gzip member to a file, for tests and tools that need `.csv.gz` input.
///
/// Not thread-safe: one owner writes, then calls `finish()`, which ends the member and closes
/// the file. Concatenating the outputs of two writers makes a valid multi-member gzip file.
/// A writer dropped without `finish()` closes its file, leaving a truncated member.
public final class GzipWriter {
    /// The path given to `init`.
    public let path: String

    private let fileDescriptor: Int32
    private let stream: UnsafeMutablePointer<z_stream>
    private let buffer: UnsafeMutablePointer<UInt8>
    private let bufferCapacity = 64 * 1024
    private var isOpen = true

    /// Creates (or truncates) `path` with mode 0644 and starts a gzip member at `level` (0...9).
    public init(path: String, level: Int32 = Z_DEFAULT_COMPRESSION) throws(GzipError) {
        self.path = path
        let opened = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw .openFailed(path: path, reason: GzipError.systemReason(errno)) }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 16: the largest window, wrapped in a gzip header and trailer.
        let status = deflateInit2_(
            stream,
            level,
            Z_DEFLATED,
            15 + 16,
            8,
            Z_DEFAULT_STRATEGY,
            zlibVersion(),
            Int32(MemoryLayout<z_stream>.size)
        )
        guard status == Z_OK else {
            stream.deallocate()
            close(opened)
            throw .zlibFailed(path: path, reason: String(cString: zError(status)))
        }
        fileDescriptor = opened
        buffer = .allocate(capacity: bufferCapacity)
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        buffer.deallocate()
        if isOpen { close(fileDescriptor) }
    }

    /// Compresses and writes `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(GzipError) {
        precondition(isOpen, "GzipWriter.write after finish()")
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(bytes.count)
        try pump(flush: Z_NO_FLUSH)
    }

    /// Compresses and writes the UTF-8 bytes of `text`.
    public func write(_ text: String) throws(GzipError) {
        var text = text
        let result: Result<Void, GzipError> = text.withUTF8 { bytes in
            Result { () throws(GzipError) in try write(UnsafeRawBufferPointer(bytes)) }
        }
        try result.get()
    }

    /// Ends the gzip member and closes the file; the writer takes no more data.
    public func finish() throws(GzipError) {
        precondition(isOpen, "GzipWriter.finish called twice")
        stream.pointee.avail_in = 0
        try pump(flush: Z_FINISH)
        isOpen = false
        if close(fileDescriptor) != 0 {
            throw .writeFailed(path: path, reason: GzipError.systemReason(errno))
        }
    }

    /// Runs deflate until the input is consumed (or, with Z_FINISH, the member is complete),
    /// writing each full buffer to the file.
    private func pump(flush: Int32) throws(GzipError) {
        while true {
            stream.pointee.next_out = buffer
            stream.pointee.avail_out = UInt32(bufferCapacity)
            let status = deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw .zlibFailed(path: path, reason: String(cString: zError(status)))
            }
            try writeAll(count: bufferCapacity - Int(stream.pointee.avail_out))
            if flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_in == 0 { return }
        }
    }

    /// Writes buffer[0..<count] to the file, retrying short writes and EINTR.
    private func writeAll(count: Int) throws(GzipError) {
        var written = 0
        while written < count {
            let result = Glibc.write(fileDescriptor, buffer + written, count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: GzipError.systemReason(errno))
            }
            written += result
        }
    }
}
