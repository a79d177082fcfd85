/// A confusion matrix as a standalone SVG heat map: row = true class, column = predicted
/// class, each cell shaded by the fraction of its row (white 0 → dark blue 1) and labelled
/// with its count (when cells are large enough), a hover title giving class names, count
/// and fraction, and each row's accuracy at its right.
public enum ConfusionHeatMap {
    /// - Precondition: one name per class.
    public static func svg(_ matrix: ConfusionMatrix, classNames: [String], title: String) -> String {
        precondition(classNames.count == matrix.classCount, "expected \(matrix.classCount) class names, got \(classNames.count)")
        let n = matrix.classCount
        let cell = max(6.0, min(48.0, 560.0 / Double(n)))
        let labelWidth = 8.0 * Double(classNames.map(\.count).max() ?? 1) + 20
        let left = labelWidth + 30, top = labelWidth + 60
        let width = Int(left + cell * Double(n) + 90), height = Int(top + cell * Double(n) + 30)
        let showCounts = cell >= 24
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            + "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">\(SVGChart.escape(title))</text>\n"
            + "<text x=\"\(f(left + cell * Double(n) / 2))\" y=\"44\" text-anchor=\"middle\">predicted class</text>\n"
            + "<text transform=\"translate(16 \(f(top + cell * Double(n) / 2))) rotate(-90)\" text-anchor=\"middle\">true class</text>\n"
        for k in 0..<n {
            let name = SVGChart.escape(classNames[k])
            let centre = Double(k) * cell + cell / 2
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(top + centre))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(name)</text>\n"
                + "<text transform=\"translate(\(f(left + centre)) \(f(top - 6))) rotate(-60)\">\(name)</text>\n"
        }
        for target in 0..<n {
            let rowTotal = matrix.samples(ofClass: target)
            for predicted in 0..<n {
                let count = matrix[target, predicted]
                let fraction = rowTotal > 0 ? Double(count) / Double(rowTotal) : 0
                let x = left + Double(predicted) * cell, y = top + Double(target) * cell
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" fill=\"\(shade(fraction))\" stroke=\"#eee\">"
                    + "<title>true \(SVGChart.escape(classNames[target])), predicted \(SVGChart.escape(classNames[predicted])): "
                    + "\(count) (\(formatFixed(100 * fraction, 1)) %)</title></rect>\n"
                if showCounts && count > 0 {
                    svg += "<text x=\"\(f(x + cell / 2))\" y=\"\(f(y + cell / 2))\" text-anchor=\"middle\" dominant-baseline=\"middle\" "
                        + "fill=\"\(fraction > 0.5 ? "white" : "black")\">\(count)</text>\n"
                }
            }
            let accuracy = matrix.perClassAccuracy[target].map { formatFixed(100 * $0, 1) + " %" } ?? "–"
            svg += "<text x=\"\(f(left + cell * Double(n) + 8))\" y=\"\(f(top + Double(target) * cell + cell / 2))\" "
                + "dominant-baseline=\"middle\">\(accuracy)</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// White (0) to dark blue (1).
    static func shade(_ fraction: Double) -> String {
        let t = min(1, max(0, fraction))
        let channel = { (from: Double, to: Double) in Int((from + (to - from) * t).rounded()) }
        return "rgb(\(channel(255, 8)),\(channel(255, 48)),\(channel(255, 107)))"
    }

    private static func f(_ value: Double) -> String { formatFixed(value, 1) }
}
