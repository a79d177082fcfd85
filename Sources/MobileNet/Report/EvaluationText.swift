extension EvaluationTally {
    /// Confusion matrices with more classes than this are left out of ``text(classNames:)``
    /// (100 columns do not fit a terminal; the SVG heat map shows them).
    public static let maxTextConfusionClasses = 20

    /// The evaluation as plain text: one summary line (loss, top-1, top-5) naming the `set`
    /// evaluated, the per-class accuracy table, and the confusion matrix (rows: true class,
    /// columns: predicted class by index).
    /// - Precondition: one name per class.
    public func text(classNames: [String], set: String = "test") -> String {
        precondition(classNames.count == classCount, "expected \(classCount) class names, got \(classNames.count)")
        var out = summaryLine(of: set) + "\n\n"

        var perClass = TextTable(headers: ["class", "accuracy", "correct", "images"])
        for (index, accuracy) in confusion.perClassAccuracy.enumerated() {
            perClass.append([label(index, classNames), accuracy.map(percent) ?? "–",
                             "\(confusion[index, index])", "\(confusion.samples(ofClass: index))"])
        }
        out += perClass.text()

        guard classCount <= Self.maxTextConfusionClasses else {
            return out + "\n(confusion matrix of \(classCount) classes: see the --plot heat map)\n"
        }
        out += "\nconfusion matrix (rows: true class, columns: predicted class)\n"
        var matrix = TextTable(headers: ["true \\ predicted"] + (0..<classCount).map(String.init))
        for target in 0..<classCount {
            matrix.append([label(target, classNames)] + (0..<classCount).map { "\(confusion[target, $0])" })
        }
        return out + matrix.text()
    }

    /// One line: "test loss L | top-1 A% (c/n) | top-5 B% (c/n)" (top-k with k = min(5, classes)).
    public var summaryLine: String { summaryLine(of: "test") }

    /// ``summaryLine`` with `set` ("validation") in place of "test".
    public func summaryLine(of set: String) -> String {
        let k = min(Self.topK, classCount)
        return "\(set) loss \(formatFixed(loss, 4)) | top-1 \(percent(top1Accuracy)) (\(top1Correct)/\(count))"
            + " | top-\(k) \(percent(topKAccuracy)) (\(topKCorrect)/\(count))"
    }

    private func label(_ index: Int, _ names: [String]) -> String { "\(index) \(names[index])" }
    private func percent(_ value: Double) -> String { formatFixed(100 * value, 2) + "%" }
}
