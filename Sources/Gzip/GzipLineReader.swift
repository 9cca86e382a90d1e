import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the lines of a plain or gzip-compressed text file, or of standard input, without
/// allocating per line.
///
/// The format is told by the first two bytes (gzip's magic `1f 8b`), not by the file name, so
/// `SUSY.csv.gz`, a renamed copy and `zcat`-free pipes all work. Gzip files may hold several
/// members one after another (as `cat a.gz b.gz` makes); zero bytes after the last member are
/// ignored, as gzip(1) does. Lines end at `\n`; a `\r` before it is dropped, and a last line
/// without a newline is still delivered.
///
/// Not thread-safe: one owner reads it from start to end. The file descriptor and the zlib
/// stream are released in `deinit` (standard input is never closed).
public final class GzipLineReader {
    /// The path given to `init`; `-` is standard input.
    public let path: String

    /// The size of the input in bytes when it is a regular file, for progress; nil for pipes.
    public let inputSize: Int64?

    /// The longest line accepted, in bytes without the line end.
    public let maximumLineLength: Int

    /// Whether the input turned out to be gzip; known once `forEachLine` has started.
    public private(set) var isCompressed = false

    /// Bytes read from the file so far (compressed bytes for gzip), for progress.
    public private(set) var inputBytesRead: Int64 = 0

    private let fileDescriptor: Int32
    private let ownsFileDescriptor: Bool

    /// Raw bytes from the file, waiting for inflate (gzip only).
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity: Int
    private var inputStart = 0
    private var inputEnd = 0
    private var isInputAtEnd = false

    /// Text bytes (decompressed or plain), cut into lines in place.
    private var output: UnsafeMutablePointer<UInt8>
    private var outputCapacity: Int

    private let stream: UnsafeMutablePointer<z_stream>
    private var isStreamInitialized = false
    /// True between the first byte of a gzip member and its end: EOF there means truncation.
    private var isInsideMember = false

    /// Opens `path` (or standard input for `-`) for reading.
    ///
    /// `bufferSize` is the size of each of the two buffers (input and text); the text buffer grows
    /// for longer lines up to `maximumLineLength`, beyond which `forEachLine` throws.
    public init(
        path: String,
        bufferSize: Int = 256 * 1024,
        maximumLineLength: Int = 16 * 1024 * 1024
    ) throws(GzipError) {
        precondition(bufferSize >= 16, "GzipLineReader needs a buffer of at least 16 bytes")
        precondition(maximumLineLength > 0, "GzipLineReader needs a positive line length limit")
        self.path = path
        self.maximumLineLength = maximumLineLength
        if path == "-" {
            fileDescriptor = STDIN_FILENO
            ownsFileDescriptor = false
        } else {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else {
                throw .openFailed(path: path, reason: GzipError.systemReason(errno))
            }
            fileDescriptor = opened
            ownsFileDescriptor = true
        }
        var status = stat()
        if fstat(fileDescriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG {
            inputSize = Int64(status.st_size)
        } else {
            inputSize = nil
        }
        inputCapacity = bufferSize
        input = .allocate(capacity: bufferSize)
        outputCapacity = bufferSize
        output = .allocate(capacity: bufferSize)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if isStreamInitialized { inflateEnd(stream) }
        stream.deallocate()
        input.deallocate()
        output.deallocate()
        if ownsFileDescriptor { close(fileDescriptor) }
    }

    /// Calls `body` with each line's 1-based number and bytes, in order, until the end of the input.
    ///
    /// The bytes exclude the line end and are valid only during the call (the buffer is reused).
    /// Empty lines are delivered too; a newline at the very end does not make an extra empty line.
    /// Stops at the first error, from the input (a `GzipError`) or thrown by `body`.
    public func forEachLine(_ body: (_ lineNumber: Int, _ line: UnsafeRawBufferPointer) throws -> Void) throws {
        var filled = try startReading()
        var lineStart = 0
        var scanFrom = 0
        var lineNumber = 0
        while true {
            // Deliver every complete line in output[lineStart..<filled].
            while scanFrom < filled,
                let found = memchr(output + scanFrom, Int32(UInt8(ascii: "\n")), filled - scanFrom)
            {
                let newline = UnsafeMutableRawPointer(found).assumingMemoryBound(to: UInt8.self) - output
                lineNumber += 1
                try deliver(from: lineStart, to: newline, lineNumber: lineNumber, body)
                lineStart = newline + 1
                scanFrom = lineStart
            }
            scanFrom = filled

            // Keep the unfinished line at the front, growing the buffer when it fills it.
            let pending = filled - lineStart
            if pending > maximumLineLength {
                throw GzipError.lineTooLong(path: path, line: lineNumber + 1, limit: maximumLineLength)
            }
            if lineStart > 0 {
                if pending > 0 { memmove(output, output + lineStart, pending) }
                filled = pending
                scanFrom = pending
                lineStart = 0
            }
            if filled == outputCapacity { growOutput() }

            let produced = try fill(at: filled)
            if produced == 0 { break }
            filled += produced
        }
        if filled > lineStart {
            lineNumber += 1
            try deliver(from: lineStart, to: filled, lineNumber: lineNumber, body)
        }
    }

    /// Hands output[start..<end] to `body`, without a trailing `\r`.
    private func deliver(
        from start: Int,
        to end: Int,
        lineNumber: Int,
        _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var end = end
        if end > start, output[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        if end - start > maximumLineLength {
            throw GzipError.lineTooLong(path: path, line: lineNumber, limit: maximumLineLength)
        }
        try body(lineNumber, UnsafeRawBufferPointer(start: output + start, count: end - start))
    }

    /// Doubles the text buffer, keeping its bytes; it never needs more than one line and its end.
    private func growOutput() {
        let capacity = max(outputCapacity + 1, min(outputCapacity * 2, maximumLineLength + 2))
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: output, count: outputCapacity)
        output.deallocate()
        output = grown
        outputCapacity = capacity
    }

    /// Reads the first bytes, decides between plain and gzip, and returns how many text bytes
    /// are already in `output`.
    private func startReading() throws(GzipError) -> Int {
        // A pipe may hand over a single byte first: read until the magic can be judged.
        while inputEnd < 2, !isInputAtEnd {
            try readInput()
        }
        isCompressed = inputEnd >= 2 && input[0] == 0x1f && input[1] == 0x8b
        if isCompressed {
            let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw .zlibFailed(path: path, reason: zlibMessage(status)) }
            isStreamInitialized = true
            return 0
        }
        output.update(from: input, count: inputEnd)
        let count = inputEnd
        inputStart = 0
        inputEnd = 0
        return count
    }

    /// Appends more text bytes at `output[offset...]`; returns how many, 0 only at the end.
    private func fill(at offset: Int) throws(GzipError) -> Int {
        let room = outputCapacity - offset
        if !isCompressed {
            return try readDirect(into: output + offset, count: room)
        }
        while true {
            let produced = try inflateInput(into: output + offset, count: room)
            if produced > 0 { return produced }
            if inputStart == inputEnd {
                if isInputAtEnd {
                    if isInsideMember { throw .truncated(path: path) }
                    return 0
                }
                inputStart = 0
                inputEnd = 0
                try readInput()
            }
        }
    }

    /// Runs inflate over the buffered input into `destination`; returns the bytes produced.
    private func inflateInput(into destination: UnsafeMutablePointer<UInt8>, count: Int) throws(GzipError) -> Int {
        if !isInsideMember {
            // Between members: skip zero padding, and start the next member only if bytes remain.
            while inputStart < inputEnd, input[inputStart] == 0 { inputStart += 1 }
            if inputStart == inputEnd { return 0 }
            isInsideMember = true
        }
        stream.pointee.next_in = input + inputStart
        stream.pointee.avail_in = UInt32(inputEnd - inputStart)
        stream.pointee.next_out = destination
        stream.pointee.avail_out = UInt32(count)
        let status = inflate(stream, Z_NO_FLUSH)
        inputStart = inputEnd - Int(stream.pointee.avail_in)
        let produced = count - Int(stream.pointee.avail_out)
        switch status {
        case Z_OK, Z_BUF_ERROR:
            // Z_BUF_ERROR only means "no progress possible": more input is needed.
            return produced
        case Z_STREAM_END:
            isInsideMember = false
            let reset = inflateReset(stream)
            guard reset == Z_OK else { throw .zlibFailed(path: path, reason: zlibMessage(reset)) }
            return produced
        case Z_NEED_DICT:
            throw .corrupt(path: path, reason: "the stream needs a preset dictionary")
        case Z_MEM_ERROR:
            throw .zlibFailed(path: path, reason: "out of memory")
        default:
            throw .corrupt(path: path, reason: zlibMessage(status))
        }
    }

    /// Reads into the free end of the input buffer; sets `isInputAtEnd` at end of file.
    private func readInput() throws(GzipError) {
        let count = try readDirect(into: input + inputEnd, count: inputCapacity - inputEnd)
        if count == 0 { isInputAtEnd = true }
        inputEnd += count
    }

    /// One read(2), retried on EINTR; returns 0 at end of file.
    private func readDirect(into destination: UnsafeMutablePointer<UInt8>, count: Int) throws(GzipError) -> Int {
        while true {
            let result = read(fileDescriptor, destination, count)
            if result >= 0 {
                inputBytesRead += Int64(result)
                return result
            }
            let code = errno
            if code != EINTR { throw .readFailed(path: path, reason: GzipError.systemReason(code)) }
        }
    }

    /// zlib's message for the current stream, or a description of `status`.
    private func zlibMessage(_ status: Int32) -> String {
        if let message = stream.pointee.msg { return String(cString: message) }
        return String(cString: zError(status))
    }
}
