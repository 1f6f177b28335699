// The status tables of `--status`: columns padded to their widest cell, two spaces apart,
// so the output reads in a terminal and splits on whitespace in a script.

/// Rows of text cells under a header, rendered left-aligned.
struct TextTable {
    let header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) {
        self.header = header
    }

    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The table, one line per row after the header, each prefixed with `indent`.
    func render(indent: String = "") -> String {
        let lines = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for line in lines {
            for (column, cell) in line.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        var text = ""
        for line in lines {
            var cells: [String] = []
            for (column, cell) in line.enumerated() where column < widths.count {
                let isLast = column == widths.count - 1
                cells.append(isLast ? cell : cell + String(repeating: " ", count: widths[column] - cell.count))
            }
            text += indent + cells.joined(separator: "  ") + "\n"
        }
        return text
    }
}
