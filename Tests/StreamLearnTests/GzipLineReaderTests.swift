import Foundation
import Gzip
import Testing

/// A scratch directory removed when the value is dropped.
private final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("gzip-line-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` as is.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `text` as one gzip member.
    func writeGzip(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        let writer = try GzipWriter(path: path)
        try writer.write(text)
        try writer.finish()
        return path
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// Reads every line of `path` into strings, with their numbers.
private func readLines(
    _ path: String,
    bufferSize: Int = 256 * 1024,
    maximumLineLength: Int = 1024 * 1024
) throws -> (lines: [String], numbers: [Int], isCompressed: Bool) {
    let reader = try GzipLineReader(path: path, bufferSize: bufferSize, maximumLineLength: maximumLineLength)
    var lines: [String] = []
    var numbers: [Int] = []
    try reader.forEachLine { number, line in
        lines.append(String(decoding: line, as: UTF8.self))
        numbers.append(number)
    }
    return (lines, numbers, reader.isCompressed)
}

@Suite("GzipLineReader")
struct GzipLineReaderTests {
    @Test("reads a plain CSV file line by line with 1-based numbers")
    func readsPlainFile() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("plain.csv", Array("1,0.5,2\n0,1.5,3\n1,2.5,4\n".utf8))

        let result = try readLines(path)

        #expect(result.lines == ["1,0.5,2", "0,1.5,3", "1,2.5,4"])
        #expect(result.numbers == [1, 2, 3])
        #expect(!result.isCompressed)
    }

    @Test("decompresses gzip across many buffer refills, whatever the file is named")
    func readsGzipWithSmallBuffers() throws {
        let scratch = try ScratchDirectory()
        let expected = (0..<5_000).map { "\($0 % 2),\($0).25,\(-$0)e-3" }
        let path = try scratch.writeGzip("rows.csv", expected.joined(separator: "\n") + "\n")
        #expect(try scratch.read("rows.csv").prefix(2) == [0x1f, 0x8b])

        let result = try readLines(path, bufferSize: 37)

        #expect(result.isCompressed)
        #expect(result.lines == expected)
        #expect(result.numbers == Array(1...5_000))
    }

    @Test("a file named .gz that is plain text reads as plain text")
    func detectsByContentNotName() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("looks.csv.gz", Array("0,1\n".utf8))

        let result = try readLines(path)

        #expect(result.lines == ["0,1"])
        #expect(!result.isCompressed)
    }

    @Test("reads every member of a multi-member gzip file, joining a line split between members")
    func readsMultiMemberGzip() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.writeGzip("a.gz", "1,2\n3,")
        _ = try scratch.writeGzip("b.gz", "4\n5,6\n")
        _ = try scratch.writeGzip("c.gz", "")
        let joined = try scratch.read("a.gz") + scratch.read("c.gz") + scratch.read("b.gz")
        let path = try scratch.write("joined.csv.gz", joined)

        let result = try readLines(path, bufferSize: 16)

        #expect(result.lines == ["1,2", "3,4", "5,6"])
    }

    @Test("ignores zero padding after the last gzip member")
    func ignoresTrailingZeros() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.writeGzip("a.gz", "1,2\n")
        let path = try scratch.write("padded.gz", try scratch.read("a.gz") + [UInt8](repeating: 0, count: 512))

        #expect(try readLines(path).lines == ["1,2"])
    }

    @Test("drops the carriage return of CRLF line ends, in plain and gzip files")
    func stripsCarriageReturns() throws {
        let scratch = try ScratchDirectory()
        let text = "1,2\r\n\r\n3,4\r\n"
        let plain = try scratch.write("crlf.csv", Array(text.utf8))
        let gzip = try scratch.writeGzip("crlf.csv.gz", text)

        #expect(try readLines(plain).lines == ["1,2", "", "3,4"])
        #expect(try readLines(gzip, bufferSize: 16).lines == ["1,2", "", "3,4"])
    }

    @Test("delivers a last line that has no newline")
    func deliversLastLineWithoutNewline() throws {
        let scratch = try ScratchDirectory()
        let plain = try scratch.write("tail.csv", Array("1,2\n3,4".utf8))
        let gzip = try scratch.writeGzip("tail.csv.gz", "1,2\n3,4\r")

        #expect(try readLines(plain).lines == ["1,2", "3,4"])
        #expect(try readLines(gzip).lines == ["1,2", "3,4"])
    }

    @Test("an empty file, plain or gzip, has no lines")
    func readsEmptyFiles() throws {
        let scratch = try ScratchDirectory()
        let plain = try scratch.write("empty.csv", [])
        let gzip = try scratch.writeGzip("empty.csv.gz", "")

        #expect(try readLines(plain).lines.isEmpty)
        #expect(try readLines(gzip).lines.isEmpty)
    }

    @Test("a truncated gzip file fails with an error naming the file, after its complete lines")
    func reportsTruncation() throws {
        let scratch = try ScratchDirectory()
        let text = (0..<2_000).map { "1,\($0)" }.joined(separator: "\n") + "\n"
        _ = try scratch.writeGzip("full.gz", text)
        let full = try scratch.read("full.gz")
        let path = try scratch.write("cut.csv.gz", Array(full.prefix(full.count - 12)))

        var linesSeen = 0
        #expect(throws: GzipError.truncated(path: path)) {
            try GzipLineReader(path: path).forEachLine { _, _ in linesSeen += 1 }
        }
        #expect(linesSeen > 0)
        #expect(GzipError.truncated(path: path).description.contains("'\(path)'"))
        #expect(GzipError.truncated(path: path).description.contains("ends inside a gzip member"))
    }

    @Test("bytes after the gzip magic that are not deflate data fail as corrupt")
    func reportsCorruptGzip() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("bad.gz", [0x1f, 0x8b] + Array("this is not deflate".utf8))

        let error = #expect(throws: GzipError.self) {
            try GzipLineReader(path: path).forEachLine { _, _ in }
        }
        guard case .corrupt(let errorPath, _) = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(error?.description.hasPrefix("Failed to decompress '\(path)': not a valid gzip stream") == true)
    }

    @Test("a missing file fails to open with the system's reason")
    func reportsMissingFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("absent.csv")

        #expect(throws: GzipError.openFailed(path: path, reason: "No such file or directory")) {
            _ = try GzipLineReader(path: path)
        }
    }

    @Test("a line longer than the limit fails naming its number")
    func reportsLineTooLong() throws {
        let scratch = try ScratchDirectory()
        let long = String(repeating: "9", count: 300)
        let path = try scratch.write("long.csv", Array("1,2\n\(long)\n3,4\n".utf8))

        #expect(throws: GzipError.lineTooLong(path: path, line: 2, limit: 100)) {
            try GzipLineReader(path: path, bufferSize: 32, maximumLineLength: 100).forEachLine { _, _ in }
        }
        #expect(try readLines(path, bufferSize: 32, maximumLineLength: 300).lines == ["1,2", long, "3,4"])
    }

    @Test("counts the bytes read against the file size for progress")
    func reportsProgress() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.writeGzip("progress.gz", String(repeating: "0,1.5,2.5\n", count: 1_000))
        let reader = try GzipLineReader(path: path)
        var count = 0
        try reader.forEachLine { _, _ in count += 1 }

        #expect(count == 1_000)
        #expect(reader.inputSize == Int64(try scratch.read("progress.gz").count))
        #expect(reader.inputBytesRead == reader.inputSize)
    }
}
