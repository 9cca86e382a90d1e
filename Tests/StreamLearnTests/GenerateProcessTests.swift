import Foundation
import Testing

/// Runs a bash script and returns its standard output once it has exited.
///
/// For what `TestBinary` cannot do: a reader that closes the pipe early, as `| head` does. The
/// script bounds its own run time with timeout(1), so reading to the end always finishes.
private func runScript(_ script: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    let output = Pipe()
    process.standardOutput = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Shell-quotes `text` in single quotes.
private func quoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

@Suite("streamlearn generate (process)")
struct GenerateProcessTests {
    @Test("writes the requested rows of a label and 18 numbers, the same for the same seed")
    func writesDeterministicRows() throws {
        let first = try TestBinary.run(["generate", "--rows", "1000", "--seed", "7"])
        let second = try TestBinary.run(["generate", "--rows", "1000", "--seed", "7"])

        #expect(first.status == 0)
        #expect(first.standardError.isEmpty)
        #expect(first.lines.count == 1000)
        #expect(first.standardOutputData == second.standardOutputData)
        for line in first.lines {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(fields.count == 19, "line '\(line)'")
            #expect(fields[0] == "0" || fields[0] == "1")
            #expect(fields.dropFirst().allSatisfy { Double($0)?.isFinite == true }, "line '\(line)'")
        }
    }

    @Test("different seeds write different rows, and the default row count is 100,000")
    func seedsDifferAndDefaultsHold() throws {
        let seven = try TestBinary.run(["generate", "--rows", "50", "--seed", "7"])
        let eight = try TestBinary.run(["generate", "--rows", "50", "--seed", "8"])
        let defaults = try TestBinary.run(["generate"])

        #expect(seven.standardOutput != eight.standardOutput)
        #expect(defaults.status == 0)
        #expect(defaults.lines.count == 100_000)
        #expect(
            Array(defaults.lines.prefix(50))
                == (try TestBinary.run(["generate", "--rows", "50", "--seed", "42"])).lines
        )
    }

    @Test("--header first writes the column names")
    func writesHeader() throws {
        let result = try TestBinary.run(["generate", "--rows", "3", "--header"])

        #expect(result.status == 0)
        #expect(result.lines.count == 4)
        #expect(result.lines.first?.hasPrefix("label,lepton_1_pT,lepton_1_eta,lepton_1_phi,") == true)
        #expect(result.lines.first?.split(separator: ",").count == 19)
    }

    @Test("--drift-at keeps the rows before it and changes the features from it on")
    func driftsFromTheGivenRow() throws {
        let plain = try TestBinary.run(["generate", "--rows", "2000", "--seed", "3"]).lines
        let drifted = try TestBinary.run(["generate", "--rows", "2000", "--seed", "3", "--drift-at", "1000"]).lines

        #expect(drifted.count == 2000)
        #expect(drifted.prefix(1000) == plain.prefix(1000))
        // Background rows are unchanged; signal rows (label 1) change from row 1000 on.
        let changed = (1000..<2000).filter { drifted[$0] != plain[$0] }
        #expect(changed.count > 300)
        #expect(changed.allSatisfy { drifted[$0].hasPrefix("1,") })
    }

    @Test("a reader that stops early ends the command quietly with status 0, even with SIGPIPE at its default")
    func closedPipeIsQuiet() throws {
        let binary = quoted(try TestBinary.path())
        // The test runner ignores SIGPIPE, and children inherit that: env puts the default back.
        let script = """
            errors=$(mktemp)
            env --default-signal=PIPE timeout 60 \(binary) generate --rows 100000000 2>"$errors" | head -n 3
            echo "status=${PIPESTATUS[0]}"
            echo "stderr=$(cat "$errors")"
            rm -f "$errors"
            """
        let lines = try runScript(script).split(separator: "\n", omittingEmptySubsequences: false)

        #expect(lines.count == 6)
        #expect(lines.prefix(3).allSatisfy { $0.split(separator: ",").count == 19 })
        #expect(lines.dropFirst(3) == ["status=0", "stderr=", ""])
    }

    @Test("a bad option value is a usage error naming the option")
    func rejectsBadValues() throws {
        let negative = try TestBinary.run(["generate", "--rows", "-5"])
        let text = try TestBinary.run(["generate", "--drift-at", "soon"])
        let extra = try TestBinary.run(["generate", "lots"])

        #expect(negative.status == 64)
        #expect(negative.standardError.contains("'--rows'"))
        #expect(negative.standardOutput.isEmpty)
        #expect(text.status == 64)
        #expect(text.standardError.contains("'--drift-at'"))
        #expect(extra.status == 64)
        #expect(extra.standardError.contains("'lots'"))
    }

    @Test("--help lists every option")
    func helpListsOptions() throws {
        let result = try TestBinary.run(["generate", "--help"])

        #expect(result.status == 0)
        for option in ["--rows", "--seed", "--drift-at", "--header"] {
            #expect(result.standardOutput.contains(option))
        }
    }
}
