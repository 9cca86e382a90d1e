import Foundation
import Testing

/// The first number in `text` after `label`, with thousands separators removed
/// ("trained       12,264 records" -> 12264).
private func number(after label: String, in text: String) -> Double? {
    guard let range = text.range(of: label) else { return nil }
    let rest = text[range.upperBound...].drop(while: { $0 == " " })
    let digits = rest.prefix(while: { $0.isNumber || $0 == "," || $0 == "." }).filter { $0 != "," }
    return Double(String(digits))
}

/// The line of the demo's summary that starts with `name` (two spaces of indent, then the name).
private func summaryLine(_ name: String, in output: TestBinary.Output) -> String? {
    output.lines.first(where: { $0.hasPrefix("  \(name) ") })
}

@Suite("streamlearn demo and bench pipeline (process)")
struct DemoBenchProcessTests {
    @Test(
        "demo runs for --seconds on its own, trains, predicts, dead-letters the malformed rows, and ends with a summary of sensible figures"
    )
    func demoRunsAndSummarises() throws {
        let output = try TestBinary.run(["demo", "--seconds", "8"], timeout: .seconds(90))

        #expect(output.status == 0, "stderr: \(output.standardError)")
        #expect(!output.standardOutput.contains("\u{1B}["), "no escape codes into a pipe")
        #expect(
            output.lines.contains(where: {
                $0.hasPrefix("TIME ") && $0.contains("TRAINED") && $0.contains("PREDICTED") && $0.contains("DLQ")
            })
        )
        #expect(output.lines.contains(where: { $0.hasPrefix("Summary after ") }))
        let trained = try #require(summaryLine("trained", in: output))
        let model = try #require(summaryLine("model", in: output))
        let best = try #require(summaryLine("best possible", in: output))
        let checkpoints = try #require(summaryLine("checkpoints", in: output))
        #expect((number(after: "trained", in: trained) ?? 0) > 0, "\(trained)")
        // Better than always guessing background (54%), no better than the Bayes classifier.
        let accuracy = try #require(number(after: "accuracy", in: model), "\(model)")
        let bestAccuracy = try #require(number(after: "accuracy", in: best), "\(best)")
        #expect(accuracy > 0.6 && accuracy <= 1, "\(model)")
        #expect(bestAccuracy > 0.75 && bestAccuracy < 0.85, "\(best)")
        // The final checkpoint at the graceful stop, at least.
        #expect((number(after: "checkpoints", in: checkpoints) ?? 0) >= 1, "\(checkpoints)")
        // The temporary checkpoint directory is gone.
        let directory = try #require(checkpoints.split(separator: " ").first(where: { $0.hasPrefix("/") }))
        #expect(!FileManager.default.fileExists(atPath: String(directory)))

        // Inference: predictions made, with an accuracy on the labelled test rows.
        let predictionsLine = try #require(summaryLine("predictions", in: output))
        let predictions = try #require(number(after: "predictions", in: predictionsLine), "\(predictionsLine)")
        let inferenceAccuracy = try #require(number(after: "accuracy", in: predictionsLine), "\(predictionsLine)")
        #expect(predictions > 0, "\(predictionsLine)")
        #expect(inferenceAccuracy > 0 && inferenceAccuracy <= 1, "\(predictionsLine)")
        // Every malformed row the daemon read was refused and copied to the dead-letter topic.
        let badLine = try #require(summaryLine("bad records", in: output))
        let refused = try #require(number(after: "bad records", in: badLine), "\(badLine)")
        let malformed = try #require(number(after: "test) of", in: badLine), "\(badLine)")
        let deadLettered = try #require(number(after: "produced,", in: badLine), "\(badLine)")
        #expect(refused > 0 && refused <= malformed, "\(badLine)")
        #expect(deadLettered == refused, "\(badLine)")
        // The topics hold what the daemon says it wrote, from offset 0, and a prediction reads
        // back as DESIGN.md's JSON.
        let topics = try #require(summaryLine("topics hold", in: output))
        #expect(number(after: "'streamlearn.predictions'", in: topics) == predictions, "\(topics)")
        #expect(number(after: "'streamlearn.dead-letter'", in: topics) == deadLettered, "\(topics)")
        #expect(!topics.contains("dropped"), "\(topics)")
        let example = try #require(summaryLine("a prediction", in: output))
        let json = try #require(example.range(of: "{").map { String(example[$0.lowerBound...]) }, "\(example)")
        let prediction = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            "\(example)"
        )
        #expect(prediction["topic"] as? String == "susy-test", "\(example)")
        #expect(prediction["score"] is NSNumber && prediction["label"] is NSNumber, "\(example)")
        let deadLetter = try #require(summaryLine("a dead letter", in: output))
        #expect(deadLetter.contains("streamlearn.reason="), "\(deadLetter)")
    }

    @Test("Ctrl-C ends the demo early, gracefully, with the summary and status 0")
    func demoStopsEarlyOnInterrupt() throws {
        let process = try TestBinary.start(["demo", "--seconds", "600"])
        // The table's first row comes with the daemon's first metrics message.
        try process.waitForLine(timeout: .seconds(60)) { $0.hasPrefix("1s ") || $0.hasPrefix("2s ") }
        process.send(SIGINT)
        let output = process.wait(timeout: .seconds(60))

        #expect(!output.timedOut)
        #expect(output.status == 0, "stderr: \(output.standardError)")
        let summary = try #require(output.lines.first(where: { $0.hasPrefix("Summary after ") }))
        #expect(summary.contains("stopped early by SIGINT"), "\(summary)")
        #expect(summaryLine("trained", in: output) != nil)
    }

    @Test("bench pipeline prints the consume ceiling and the pipeline as a table")
    func benchPipelinePrintsTable() throws {
        let output = try TestBinary.run(
            ["bench", "pipeline", "--records", "10000", "--model", "logistic"],
            timeout: .seconds(120)
        )

        #expect(output.status == 0, "stderr: \(output.standardError)")
        let header = try #require(output.lines.firstIndex(where: { $0.hasPrefix("benchmark ") }))
        let rows = output.lines[(header + 1)...].map { $0.split(separator: " ").map(String.init) }
        #expect(rows.count == 2)
        #expect(rows.first?.prefix(3) == ["consume", "none", "1024"])
        #expect(rows.last?.prefix(3) == ["pipeline", "logistic", "32"])
        for row in rows {
            let rate = Double(row[3].filter { $0 != "," }) ?? 0
            #expect(rate > 0, "\(row)")
        }
    }

    @Test("bench pipeline --json writes one object per measurement with DESIGN.md's keys")
    func benchPipelineWritesJSON() throws {
        let output = try TestBinary.run(["bench", "pipeline", "--records", "10000", "--json"], timeout: .seconds(180))

        #expect(output.status == 0, "stderr: \(output.standardError)")
        #expect(output.lines.count == 3, "\(output.standardOutput)")
        var seen: [String] = []
        for line in output.lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                "not an object: \(line)"
            )
            let benchmark = try #require(object["benchmark"] as? String)
            let model = try #require(object["model"] as? String)
            let batch = try #require((object["batch"] as? NSNumber)?.intValue)
            let rate = try #require((object["records_per_s"] as? NSNumber)?.doubleValue)
            #expect(rate > 0, "\(line)")
            #expect((object["records"] as? NSNumber)?.intValue == 10000, "\(line)")
            #expect(batch == (benchmark == "consume" ? 1024 : 32), "\(line)")
            seen.append("\(benchmark) \(model)")
        }
        #expect(seen == ["consume none", "pipeline mlp", "pipeline logistic"])
    }

    @Test("out-of-range options are usage errors (status 64) that name the option")
    func rejectsBadOptions() throws {
        let demo = try TestBinary.run(["demo", "--seconds", "0"])
        let bench = try TestBinary.run(["bench", "pipeline", "--records", "5"])
        let model = try TestBinary.run(["bench", "pipeline", "--model", "svm"])

        #expect(demo.status == 64)
        #expect(demo.standardError.contains("--seconds"))
        #expect(bench.status == 64)
        #expect(bench.standardError.contains("--records"))
        #expect(model.status == 64)
        #expect(model.standardError.contains("--model"))
    }
}
