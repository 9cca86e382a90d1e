import Foundation
import Gzip
import Kafka
import Testing

/// Generated rows as CSV text, from the real `streamlearn generate`.
private func generatedRows(_ count: Int, seed: Int = 7) throws -> String {
    let output = try TestBinary.run(["generate", "--rows", String(count), "--seed", String(seed)])
    guard output.status == 0 else {
        throw TestBinary.Failure(description: "generate failed: \(output.standardError)")
    }
    return output.standardOutput
}

/// The rows of a CSV text as (label, rest of the line) pairs, in order.
private func labelledRows(_ text: String) -> [(key: String, value: String)] {
    text.split(separator: "\n").map { line -> (key: String, value: String) in
        let fields = line.split(separator: ",", maxSplits: 1)
        return (String(fields[0]), String(fields[1]))
    }
}

@Suite("streamlearn load and lag (process)")
struct LoadLagProcessTests {
    @Test("load splits a generated file exactly into a 1-partition and a 2-partition topic")
    func loadsExactSplit() throws {
        let broker = try TestBrokerProcess(topics: ["train": 1, "test": 2])
        let directory = try TestDirectory("load")
        let text = try generatedRows(1000)
        let file = try directory.write("rows.csv", text)

        let result = try TestBinary.run([
            "load", "--file", file, "--topic", "train", "--test-topic", "test", "--test-fraction", "0.4",
            "-b", broker.bootstrapServers,
        ])

        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(
            result.standardOutput.contains(
                "Read 1000 rows from '\(file)' (0 rejected); wrote 600 to 'train' and 400 to 'test'"
            )
        )
        #expect(try broker.watermarks("train", 0) == KafkaWatermarks(low: 0, high: 600))
        #expect(try broker.watermarks("test", 0) == KafkaWatermarks(low: 0, high: 200))
        #expect(try broker.watermarks("test", 1) == KafkaWatermarks(low: 0, high: 200))

        // Every row arrives once, label as key and the rest of the line as value.
        let written = try broker.records("train", 0) + broker.records("test", 0) + broker.records("test", 1)
        let expected = labelledRows(text)
        #expect(written.count == expected.count)
        #expect(
            Set(written.map { "\($0.key ?? "nil")|\($0.value ?? "nil")" })
                == Set(expected.map { "\($0.key)|\($0.value)" })
        )
        // The training rows keep the file's order.
        let train = try broker.records("train", 0).map { $0.value ?? "" }
        let trainOrder = expected.map(\.value).filter(Set(train).contains)
        #expect(train == trainOrder)
    }

    @Test("the same seed makes the same split and another seed a different one")
    func splitFollowsSeed() throws {
        let broker = try TestBrokerProcess(topics: ["a": 1, "a-test": 1, "b": 1, "b-test": 1, "c": 1, "c-test": 1])
        let directory = try TestDirectory("seed")
        let file = try directory.write("rows.csv", try generatedRows(300))
        for (topic, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
            let result = try TestBinary.run([
                "load", "--file", file, "--topic", topic, "--test-topic", "\(topic)-test", "--test-fraction", "0.5",
                "--seed", seed, "-b", broker.bootstrapServers,
            ])
            #expect(result.status == 0, "stderr: \(result.standardError)")
        }

        let a = try broker.records("a-test", 0).map { $0.value ?? "" }
        let b = try broker.records("b-test", 0).map { $0.value ?? "" }
        let c = try broker.records("c-test", 0).map { $0.value ?? "" }
        #expect(a.count == 150 && c.count == 150)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("load reads gzip files and standard input, and --rows makes the split exact for a pipe")
    func loadsGzipAndStandardInput() throws {
        let broker = try TestBrokerProcess(topics: ["gz": 2, "piped": 1, "piped-test": 1])
        let directory = try TestDirectory("gzip")
        let text = try generatedRows(500)
        let gzipPath = directory.path + "/rows.csv.gz"
        let writer = try GzipWriter(path: gzipPath)
        try writer.write(text)
        try writer.finish()

        let fromGzip = try TestBinary.run(["load", "--file", gzipPath, "--topic", "gz", "-b", broker.bootstrapServers])
        let fromPipe = try TestBinary.run(
            [
                "load", "--file", "-", "--topic", "piped", "--test-topic", "piped-test", "--test-fraction", "0.2",
                "--rows", "400", "-b", broker.bootstrapServers,
            ],
            standardInput: Data(text.utf8)
        )

        #expect(fromGzip.status == 0, "stderr: \(fromGzip.standardError)")
        #expect(try broker.watermarks("gz", 0).high == 250)
        #expect(try broker.watermarks("gz", 1).high == 250)
        #expect(fromPipe.status == 0, "stderr: \(fromPipe.standardError)")
        #expect(fromPipe.standardOutput.contains("Read 400 rows from standard input"))
        #expect(try broker.watermarks("piped", 0).high == 320)
        #expect(try broker.watermarks("piped-test", 0).high == 80)
        let gzipRecords = try broker.records("gz", 0) + broker.records("gz", 1)
        #expect(Set(gzipRecords.map { $0.value ?? "" }) == Set(labelledRows(text).map(\.value)))
    }

    @Test("a malformed line stops load with status 65 and names the line")
    func malformedLineFails() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let directory = try TestDirectory("bad")
        var lines = try generatedRows(5).split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: ",", with: ",x", options: [], range: lines[2].range(of: ","))
        let file = try directory.write("bad.csv", lines.joined(separator: "\n") + "\n")

        let result = try TestBinary.run(["load", "--file", file, "--topic", "rows", "-b", broker.bootstrapServers])

        #expect(result.status == 65)
        #expect(result.standardError.contains("line 3 of '\(file)'"), "stderr: \(result.standardError)")
        #expect(result.standardError.contains("field 2 is not a number"), "stderr: \(result.standardError)")
        #expect(result.standardError.contains("--skip-bad"))
        #expect(try broker.watermarks("rows", 0).high == 2)
    }

    @Test("--skip-bad skips and counts malformed lines, of every kind")
    func skipBadCountsRejects() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let directory = try TestDirectory("skip")
        var lines = try generatedRows(10).split(separator: "\n").map(String.init)
        /// The line with its first feature replaced by `text`.
        func replacingFirstFeature(_ line: String, _ text: String) -> String {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            return ([fields[0], Substring(text)] + fields.dropFirst(2)).joined(separator: ",")
        }
        lines[1] = "2" + lines[1].dropFirst()  // a label neither 0 nor 1
        lines[3] = lines[3] + ",0.5"  // a field too many
        lines[4] = String(lines[4][..<lines[4].lastIndex(of: ",")!])  // a field short
        lines[6] = replacingFirstFeature(lines[6], "1e39")  // beyond Float's range
        lines[8] = replacingFirstFeature(lines[8], "nan")
        let file = try directory.write("bad.csv", lines.joined(separator: "\n") + "\n")

        let result = try TestBinary.run([
            "load", "--file", file, "--topic", "rows", "--skip-bad", "-b", broker.bootstrapServers,
        ])

        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardOutput.contains("Read 10 rows from '\(file)' (5 rejected); wrote 5 to 'rows'"))
        for line in [2, 4, 5, 7, 9] {
            #expect(result.standardError.contains("Skipping line \(line) of"), "stderr: \(result.standardError)")
        }
        #expect(try broker.watermarks("rows", 0).high == 5)
    }

    @Test("a header line is refused with a hint, and skipped with --header")
    func headerLine() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let directory = try TestDirectory("header")
        let header = try TestBinary.run(["generate", "--rows", "3", "--header"]).standardOutput
        let file = try directory.write("header.csv", header)

        let refused = try TestBinary.run(["load", "--file", file, "--topic", "rows", "-b", broker.bootstrapServers])
        let accepted = try TestBinary.run([
            "load", "--file", file, "--topic", "rows", "--header", "-b", broker.bootstrapServers,
        ])

        #expect(refused.status == 65)
        #expect(refused.standardError.contains("line 1") && refused.standardError.contains("--header"))
        #expect(accepted.status == 0, "stderr: \(accepted.standardError)")
        #expect(try broker.watermarks("rows", 0).high == 3)
    }

    @Test("load fails loudly when the broker keeps fewer rows than it wrote")
    func brokerDroppedRows() throws {
        // Uncompressed, 40,000 generated rows are about 6 MB: more than the embedded broker's
        // 5 MiB per partition, so it drops the oldest.
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let directory = try TestDirectory("dropped")
        let file = try directory.write("rows.csv", try generatedRows(40_000))

        let result = try TestBinary.run([
            "load", "--file", file, "--topic", "rows", "-X", "compression.codec=none", "-b", broker.bootstrapServers,
        ])

        let low = try broker.watermarks("rows", 0).low
        #expect(low > 0)
        #expect(result.status == 1)
        #expect(result.standardError.contains("did not keep every row"), "stderr: \(result.standardError)")
        #expect(result.standardError.contains("'rows'[0] dropped \(low) of the 40000 rows written"))
    }

    @Test("blank lines are skipped and counted, and --features sets the width")
    func blankLinesAndWidth() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let directory = try TestDirectory("blank")
        let file = try directory.write("rows.csv", "1,2,3\n\n0,4,5\n  \n1,6,7\n")

        let loaded = try TestBinary.run(["load", "--file", file, "--topic", "rows", "-b", broker.bootstrapServers])
        let wrongWidth = try TestBinary.run([
            "load", "--file", file, "--topic", "rows", "--features", "3", "-b", broker.bootstrapServers,
        ])

        #expect(loaded.status == 0, "stderr: \(loaded.standardError)")
        #expect(loaded.standardOutput.contains("Read 3 rows from '\(file)' (0 rejected, 2 blank lines skipped)"))
        #expect(wrongWidth.status == 65)
        #expect(wrongWidth.standardError.contains("line 1 of '\(file)': expected 4 fields, found 3"))
        #expect(try broker.records("rows", 0).map { $0.key ?? "" } == ["1", "0", "1"])
    }

    @Test("load into a topic the broker does not have fails and says how to create it")
    func missingTopic() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let directory = try TestDirectory("missing")
        let file = try directory.write("rows.csv", try generatedRows(3))

        let result = try TestBinary.run(["load", "--file", file, "--topic", "nowhere", "-b", broker.bootstrapServers])

        #expect(result.status == 1)
        #expect(result.standardError.contains("has no such topic"))
        #expect(result.standardError.contains("streamlearn broker --topic nowhere:N"))
    }

    @Test("usage errors name the flag and exit 64; a missing file exits 74")
    func usageAndFileErrors() throws {
        let noTopic = try TestBinary.run(["load", "--file", "x.csv", "-b", "127.0.0.1:1"])
        let lonelyTest = try TestBinary.run([
            "load", "--file", "x.csv", "--topic", "a", "--test-topic", "b", "-b", "127.0.0.1:1",
        ])
        let badFraction = try TestBinary.run([
            "load", "--file", "x.csv", "--topic", "a", "--test-topic", "b", "--test-fraction", "1", "-b", "127.0.0.1:1",
        ])
        let noFile = try TestBinary.run([
            "load", "--file", "/nonexistent/rows.csv", "--topic", "a", "-b", "127.0.0.1:1",
        ])

        #expect(noTopic.status == 64 && noTopic.standardError.contains("'--topic'"))
        #expect(lonelyTest.status == 64 && lonelyTest.standardError.contains("--test-fraction"))
        #expect(badFraction.status == 64 && badFraction.standardError.contains("'--test-fraction'"))
        #expect(noFile.status == 74 && noFile.standardError.contains("/nonexistent/rows.csv"))
    }

    @Test("lag shows committed offsets, log-end offsets and lag per partition")
    func lagMatchesCommits() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 2])
        let directory = try TestDirectory("lag")
        let file = try directory.write("rows.csv", try generatedRows(100))
        let load = try TestBinary.run(["load", "--file", file, "--topic", "rows", "-b", broker.bootstrapServers])
        #expect(load.status == 0, "stderr: \(load.standardError)")

        var configuration = broker.configuration
        configuration["group.id"] = "lag-test"
        let consumer = try KafkaConsumer(configuration: configuration)
        try consumer.commit([
            KafkaTopicPartitionOffset(topic: "rows", partition: 0, offset: 20),
            KafkaTopicPartitionOffset(topic: "rows", partition: 1, offset: 50),
        ])
        try consumer.close()

        let lag = try TestBinary.run(["lag", "--group", "lag-test", "-b", broker.bootstrapServers])
        let nobody = try TestBinary.run(["lag", "--group", "nobody", "-b", broker.bootstrapServers])
        let absent = try TestBinary.run([
            "lag", "--group", "lag-test", "--topic", "absent", "-b", broker.bootstrapServers,
        ])

        #expect(lag.status == 0, "stderr: \(lag.standardError)")
        let rows = lag.lines.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.first == ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"])
        #expect(Array(rows.dropFirst()) == [["rows", "0", "20", "50", "30"], ["rows", "1", "50", "50", "0"]])
        #expect(nobody.status == 0)
        #expect(nobody.standardOutput.contains("Consumer group 'nobody' has no committed offsets"))
        #expect(absent.status == 1 && absent.standardError.contains("topic 'absent'"), "\(absent.standardError)")
    }

    @Test("with the broker down, load, lag and topics describe exit 69 within their timeout, naming the broker")
    func brokerDown() throws {
        let broker = try TestBrokerProcess(topics: ["rows": 1])
        let address = broker.bootstrapServers
        let directory = try TestDirectory("down")
        let file = try directory.write("rows.csv", try generatedRows(10))
        broker.process.send(SIGKILL)
        _ = broker.process.wait(timeout: .seconds(30))

        let commands: [[String]] = [
            ["load", "--file", file, "--topic", "rows"],
            ["lag", "--group", "g"],
            ["topics", "describe"],
        ]
        for command in commands {
            // TestBinary records an issue if the command outlives 30 s: it must give up by itself.
            let result = try TestBinary.run(command + ["-b", address, "--timeout", "2s"], timeout: .seconds(30))

            #expect(!result.timedOut)
            #expect(result.status == 69, "\(command[0]): stderr \(result.standardError)")
            #expect(result.standardError.contains("Failed to reach Kafka at '\(address)'"), "\(result.standardError)")
        }
    }
}
