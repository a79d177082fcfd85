import Foundation
import Testing
@testable import MobileNet

/// Evaluation tallies against hand-computed predictions, and a whole evaluation pass with
/// a classifier whose output is set by hand.
@Suite struct EvaluationTests {
    /// Six classes, five samples; logits are given per sample and stored as the model
    /// returns them, [classes, N] (class k of sample n at k·N + n).
    @Test func tallyGivesTheHandComputedConfusionMatrixAndTopKCounts() {
        let perSample: [[Float]] = [
            [5, 1, 0, 0, 0, 0],  // target 0: predicted 0
            [1, 2, 2, 0, 0, 0],  // target 2: tie of 1 and 2 → first maximum, 1 (wrong); none above → top-5 right
            [0, 0, 0, 9, 0, 0],  // target 3: right
            [6, 5, 4, 3, 2, 1],  // target 5: predicted 0, five classes above it → top-5 wrong
            [0, 1, 0, 0, 0, 0],  // target 0: predicted 1, rank 1
        ]
        let targets: [Int32] = [0, 2, 3, 5, 0]
        let n = perSample.count
        var logits = [Float](repeating: 0, count: 6 * n)
        for (sample, row) in perSample.enumerated() { for (k, value) in row.enumerated() { logits[k * n + sample] = value } }
        var tally = EvaluationTally(classCount: 6)
        logits.withUnsafeBufferPointer { l in targets.withUnsafeBufferPointer { tally.add(scores: l, targets: $0, meanLoss: 1.5) } }
        // A second batch of two: target 1 predicted 1, target 4 predicted 1.
        let second: [Float] = [0, 0, 3, 2, 0, 0, 0, 0, 0, 1, 0, 0]  // [6, 2]
        second.withUnsafeBufferPointer { l in [Int32(1), 4].withUnsafeBufferPointer { tally.add(scores: l, targets: $0, meanLoss: 0.25) } }

        #expect(tally.count == 7)
        #expect(tally.top1Correct == 3 && tally.topKCorrect == 6)
        #expect(abs(tally.loss - (1.5 * 5 + 0.25 * 2) / 7) < 1e-12)
        var expected = [Int](repeating: 0, count: 36)
        for (target, predicted) in [(0, 0), (2, 1), (3, 3), (5, 0), (0, 1), (1, 1), (4, 1)] { expected[target * 6 + predicted] += 1 }
        #expect(tally.confusion.counts == expected)
        #expect(tally.confusion.correct == 3 && tally.confusion.total == 7)
        #expect(tally.confusion.perClassAccuracy == [0.5, 1, 0, 1, 0, 0])
        #expect(tally.confusion.samples(ofClass: 0) == 2)
    }

    @Test func aNaNTrueClassLogitIsNeverCorrect() {
        var tally = EvaluationTally(classCount: 6)
        let logits: [Float] = [.nan, 1, 0, 0, 0, 0]
        logits.withUnsafeBufferPointer { l in [Int32(0)].withUnsafeBufferPointer { tally.add(scores: l, targets: $0, meanLoss: .nan) } }
        #expect(tally.top1Correct == 0 && tally.topKCorrect == 0 && tally.confusion[0, 1] == 1)
    }

    /// Zero classifier weights and bias b = 3 on class 3: every image is predicted class 3,
    /// with loss log(9 + e³) − 3 for class-3 images and log(9 + e³) for all others.
    @Test func constantClassifierGivesTheHandComputedPerClassAccuracyAndLoss() {
        let split = CIFARFixture.split(count: 37, classes: 10, seed: 21)
        let test = CIFARDataset(dataset: .cifar10, split: .test, images: split.images, labels: split.labels, classNames: CIFARFixture.cifar10Names)
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 4)
        model.linear.weight.value.zero()
        model.linear.bias.value.zero()
        model.linear.bias.value.data[3] = 3
        let loader = BatchLoader(dataset: test, configuration: .evaluation(batchSize: 16))
        var batches = 0
        let tally = EvaluationTally.evaluate(model: model, loader: loader) { logits, batch in
            #expect(logits.shape.channels == 10 && logits.shape.batch == batch.size)
            batches += 1
        }
        #expect(batches == 3)

        let perClass = (0..<10).map { k in split.labels.filter { $0 == k }.count }
        var expected = [Int](repeating: 0, count: 100)
        for k in 0..<10 { expected[k * 10 + 3] = perClass[k] }
        #expect(tally.confusion.counts == expected)
        #expect(tally.confusion.perClassAccuracy == (0..<10).map { k in perClass[k] == 0 ? nil : (k == 3 ? 1 : 0) })
        #expect(tally.top1Correct == perClass[3] && tally.topKCorrect == 37)
        let logSumExp = log(9 + exp(3.0))
        let loss = (Double(37) * logSumExp - 3 * Double(perClass[3])) / 37
        // Float32 cross-entropy: a few ulps of a value near 2.
        #expect(abs(tally.loss - loss) <= 1e-6 * loss)
    }

    @Test func textReportShowsTheSummaryPerClassTableAndMatrix() {
        var tally = EvaluationTally(classCount: 3)
        // [3, 4]: samples [2,0,0], [0,1,0], [0,3,0], [0,1,0] → predictions 0, 1, 1, 1 for targets 0, 1, 2, 1.
        let logits: [Float] = [2, 0, 0, 0, 0, 1, 3, 1, 0, 0, 0, 0]
        logits.withUnsafeBufferPointer { l in [Int32(0), 1, 2, 1].withUnsafeBufferPointer { tally.add(scores: l, targets: $0, meanLoss: 0.5) } }
        let text = tally.text(classNames: ["cat", "dog", "emu"])
        let lines = text.split(separator: "\n").map(String.init)
        let rows = lines.map { $0.split(separator: " ").map(String.init) }
        #expect(lines[0] == "test loss 0.5000 | top-1 75.00% (3/4) | top-3 100.00% (4/4)")
        // Per-class rows: name, accuracy, correct, images.
        #expect(rows.contains(["1", "dog", "100.00%", "2", "2"]))
        #expect(rows.contains(["2", "emu", "0.00%", "0", "1"]))
        #expect(lines.contains("confusion matrix (rows: true class, columns: predicted class)"))
        // Matrix rows: true class, then the counts per predicted class.
        #expect(rows.contains(["0", "cat", "1", "0", "0"]))
        #expect(rows.contains(["2", "emu", "0", "1", "0"]))
    }

    @Test func heatMapHasOneShadedCellPerPairAndTheRowAccuracies() {
        var matrix = ConfusionMatrix(classCount: 3)
        for (t, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (2, 0)] { matrix.add(target: t, predicted: p) }
        let svg = ConfusionHeatMap.svg(matrix, classNames: ["a<b", "dog", "emu"], title: "test")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<title>true ").count - 1 == 9)
        #expect(svg.contains("true a&lt;b, predicted dog: 1 (33.3 %)"))
        #expect(svg.contains(ConfusionHeatMap.shade(1)) && svg.contains(">66.7 %<"))
        #expect(ConfusionHeatMap.shade(0) == "rgb(255,255,255)" && ConfusionHeatMap.shade(1) == "rgb(8,48,107)")
    }
}

/// One top-1 rule for the loss's `correct`, the evaluation tally and `predictions`
/// (topClass): the first largest score, NaN never winning, an all-NaN image class 0.
@Suite struct TopClassTests {
    /// Three images, classes in rows ([K, N] layout): [NaN, 1, 2] → 2 (a NaN first does not
    /// win), [NaN, NaN, NaN] → 0, [1, 3, 3] → 1 (the first of a tie).
    static let scores: [Float] = [.nan, .nan, 1,
                                  1, .nan, 3,
                                  2, .nan, 3]

    @Test func topClassSkipsNaNAndTakesTheFirstOfATie() {
        Self.scores.withUnsafeBufferPointer { s in
            #expect((0..<3).map { topClass(s.baseAddress! + $0, classes: 3, stride: 3) } == [2, 0, 1])
        }
    }

    @Test func lossTallyAndPredictionRuleAgree() {
        let targets: [Int32] = [2, 0, 1]
        let logits = FeatureMap(shape: FeatureShape(channels: 3, height: 1, width: 1, batch: 3))
        logits.data.update(from: Self.scores, count: 9)
        let loss = CrossEntropyLoss()
        _ = targets.withUnsafeBufferPointer { loss.forward(logits, targets: $0) }
        var tally = EvaluationTally(classCount: 3)
        Self.scores.withUnsafeBufferPointer { s in
            targets.withUnsafeBufferPointer { tally.add(scores: s, targets: $0, meanLoss: 0) }
        }
        #expect(loss.correct == 3 && tally.top1Correct == 3)
        #expect(tally.confusion[2, 2] == 1 && tally.confusion[0, 0] == 1 && tally.confusion[1, 1] == 1)
    }
}
