import StreamLearnCore
import Testing

@testable import StreamLearn

/// Runs `checker` on `line` and returns the label or the failure.
private func check(_ line: String, features: Int = 3) -> Result<Int, DecodeFailure> {
    let checker = CSVRowChecker(featureCount: features)
    defer { checker.deallocate() }
    return Array(line.utf8).withUnsafeBytes { bytes in
        Result { () throws(DecodeFailure) -> Int in try checker.label(of: bytes) }
    }
}

/// What `RecordDecoder` (label in column 0) makes of `line`: the reference the checker follows.
private func decode(_ line: String, features: Int = 3) -> Result<Int, DecodeFailure> {
    let decoder = RecordDecoder(featureCount: features, label: .column(0))
    let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: features)
    defer { row.deallocate() }
    return Array(line.utf8).withUnsafeBytes { bytes in
        Result { () throws(DecodeFailure) -> Int in
            try decoder.decode(key: nil, value: bytes, into: row) == 1 ? 1 : 0
        }
    }
}

/// Whether the quick scan alone vouched for `line`.
private func isQuick(_ line: String, features: Int = 3) -> Bool {
    Array(line.utf8).withUnsafeBytes { CSVRowChecker.quickLabel($0, featureCount: features) != nil }
}

@Suite("CSVRowChecker")
struct CSVRowCheckerTests {
    @Test("plain rows and SUSY.csv's notation pass the quick scan with the right label")
    func quickRows() {
        let rows: [(String, Int)] = [
            ("1,0.5,-2,3e-2", 1),
            ("0,12.25,.5,7.", 0),
            ("1.000000000000000000e+00,9.728614687919616699e-01,6.538545489311218262e-01,1.0e+00", 1),
            ("0.000000000000000000e+00,1.667973875999450684e+00,6.419061869382858276e-02,-1.0E-3", 0),
            ("1,9e37,-99999999999999999999999999999999999999,0", 1),
        ]
        for (line, label) in rows {
            #expect(isQuick(line), "\(line)")
            #expect(check(line) == .success(label), "\(line)")
            #expect(decode(line) == .success(label), "\(line)")
        }
    }

    @Test("whatever the quick scan leaves open, the checker answers exactly as the decoder does")
    func agreesWithDecoder() {
        let lines = [
            "1, 0.5,2,3",  // a blank: accepted by the decoder
            "+1,0.5,2,3",
            "1,+0.5,2,3",
            "1.0,1e39,2,3",  // beyond Float's range
            "1,1e-60,2,3",  // rounds to zero: accepted
            "2,0.5,2,3",
            "0.5,0.5,2,3",
            "1,nan,2,3",
            "1,inf,2,3",
            "1,0.5,2",
            "1,0.5,2,3,4",
            "1,0.5,,3",
            "1,0.5,2,3,",
            "1,0x10,2,3",
            "1,1e,2,3",
            "1,-,2,3",
            "1,.,2,3",
            "1,1.2.3,2,3",
            "",
            "1",
            "10,1,2,3",
            "1e0,1,2,3",
            "01,1,2,3",
            "1,0.1234567890123:5,2,3",  // a stray byte inside a long run of digits
            "1,12345678901234567890.123456789012,2,3",
            "1,0.12345678/,2,3",  // '/' sits just below '0'
        ]
        for line in lines {
            #expect(check(line) == decode(line), "\(line)")
        }
    }

    @Test("numbers near Float's largest value go to the decoder and are judged by it")
    func largeNumbers() {
        #expect(!isQuick("1,3.5e38,0,0"))
        #expect(check("1,3.5e38,0,0") == .failure(.notFinite(field: 1)))
        #expect(check("1,3.4e38,0,0") == .success(1))
        #expect(check("1,0.0000034e44,0,0") == .success(1))
    }
}
