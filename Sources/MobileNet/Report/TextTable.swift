import Foundation

/// A table of strings rendered as aligned plain text (terminals) or as Markdown.
///
/// Cells are preformatted; numbers align right by default. Used by the cost report,
/// the `flops` command and the benchmark report, so every table looks the same.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    /// - Parameter alignments: one per column; by default the first column left, the others right.
    public init(headers: [String], alignments: [Alignment]? = nil) {
        self.headers = headers
        self.alignments = alignments ?? [.left] + Array(repeating: .right, count: max(0, headers.count - 1))
        precondition(self.alignments.count == headers.count, "expected \(headers.count) alignments, got \(self.alignments.count)")
    }

    /// Appends a row. - Precondition: one cell per column.
    public mutating func append(_ row: [String]) {
        precondition(row.count == headers.count, "expected \(headers.count) cells, got \(row.count): \(row)")
        rows.append(row)
    }

    /// Columns padded to their widest cell, two spaces apart, a dashed line under the header.
    public func text() -> String {
        let widths = headers.indices.map { column in
            ([headers] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { pad(cells[$0], to: widths[$0], alignments[$0]) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// A GitHub-flavoured Markdown table (pipes in cells escaped).
    public func markdown() -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        let rule = "|" + alignments.map { $0 == .right ? "---:|" : ":---|" }.joined()
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    private func pad(_ cell: String, to width: Int, _ alignment: Alignment) -> String {
        let fill = String(repeating: " ", count: max(0, width - cell.count))
        return alignment == .left ? cell + fill : fill + cell
    }
}

/// An integer with thousands separators: 46354432 → "46,354,432".
public func formatGrouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}

/// A number with a fixed count of decimals: formatFixed(0.375, 4) → "0.3750".
public func formatFixed(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
