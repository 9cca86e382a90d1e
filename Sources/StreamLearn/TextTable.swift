/// A plain-text table in the manner of Kafka's command-line tools: a header row of upper-case
/// names, then one line per row, columns left-aligned and separated by at least two spaces.
///
/// Easy to read and easy to cut with `awk`: no cell holds a space unless the caller puts one in.
struct TextTable {
    let headers: [String]
    private(set) var rows: [[String]] = []

    init(_ headers: [String]) {
        self.headers = headers
    }

    /// Adds a row; it must have one cell per header (a programmer error otherwise).
    mutating func append(_ row: [String]) {
        precondition(row.count == headers.count, "a table row needs \(headers.count) cells, got \(row.count)")
        rows.append(row)
    }

    /// The table as lines ending in newlines; the last column is not padded.
    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        var text = ""
        for row in [headers] + rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                if column == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }
            }
            text += line + "\n"
        }
        return text
    }
}
