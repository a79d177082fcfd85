import Foundation
import Testing
@testable import MobileNet

@Suite struct CrossEntropyLossTests {
    @Test func matchesPyTorchIncludingLogitsOfPlusMinus1000() throws {
        let file = Fixtures.layers
        // Batch and classes from the file's logits [N, classes].
        guard let logits = try fixtureMap(file, "xent.logits") else { return }
        let targets = try file.int64s("xent.target").map(Int.init)
        let classes = logits.shape.channels, rows = try file.floats("xent.logits")
        guard expectShape([targets.count], [logits.shape.batch], "xent.target count") else { return }
        guard targets.allSatisfy({ (0..<classes).contains($0) }) else {
            Issue.record("xent.target \(targets) has a class outside 0..<\(classes)")
            return
        }
        let loss = CrossEntropyLoss()
        let value = loss.forward(logits, targets: targets)
        expectAllClose([value], try file.floats("xent.loss"), "loss")
        expectAllClose(loss.backward().nchwArray(), try file.floats("xent.grad.logits"), "grad.logits")
        // Correct: the images whose target logit exceeds every other logit of the row, counted
        // from the file (today's file: images 0 and 1, with 1000 and 50; the other four not).
        let expectedCorrect = targets.indices.filter { image in
            let row = rows[image * classes ..< (image + 1) * classes]
            return row.indices.allSatisfy { $0 == image * classes + targets[image] || row[$0] < row[image * classes + targets[image]] }
        }.count
        #expect(loss.correct == expectedCorrect)
    }

    @Test func labelSmoothingMatchesHandDerivation() {
        // ε = 0.1, 3 classes, 2 images: t = 0.9·onehot + 0.1/3, loss = mean −Σₖ tₖ·log softmaxₖ.
        let epsilon = 0.1
        let logits: [[Double]] = [[1, 2, 0.5], [-1, 0, 3]]
        let targets = [1, 0]
        var expectedLoss = 0.0
        var expectedGrad = [Float](repeating: 0, count: 6)
        for (image, row) in logits.enumerated() {
            let normaliser = row.map { exp($0) }.reduce(0, +)
            for k in 0..<3 {
                let t = (k == targets[image] ? 1 - epsilon : 0) + epsilon / 3
                expectedLoss -= t * log(exp(row[k]) / normaliser) / 2
                expectedGrad[image * 3 + k] = Float((exp(row[k]) / normaliser - t) / 2)
            }
        }
        // The same value from an independent Python evaluation of the formula.
        #expect(abs(expectedLoss - 2.2234596772660202) < 1e-12)
        let map = FeatureMap(nchw: logits.flatMap { $0.map(Float.init) }, shape: FeatureShape(channels: 3, height: 1, width: 1, batch: 2))
        let loss = CrossEntropyLoss(labelSmoothing: 0.1)
        expectAllClose([loss.forward(map, targets: targets)], [Float(expectedLoss)], "loss")
        expectAllClose(loss.backward().nchwArray(), expectedGrad, "grad.logits")
        #expect(loss.correct == 1)
    }

    @Test func smoothedLossStaysFiniteAtExtremeLogits() {
        // Smoothing weighs every class's log-probability, including −2000 ones: large but finite.
        let map = FeatureMap(nchw: [1000, -1000, 0, -1000, 1000, 0], shape: FeatureShape(channels: 3, height: 1, width: 1, batch: 2))
        let loss = CrossEntropyLoss(labelSmoothing: 0.3)
        let value = loss.forward(map, targets: [0, 1])
        // Per image: 0.1·(0 + 2000 + 1000) = 300 (target log-probability 0).
        expectAllClose([value], [300], "loss")
        let grad = loss.backward().nchwArray()
        #expect(grad.allSatisfy { $0.isFinite })
        expectAllClose(grad, [(1 - 0.8) / 2, -0.05, -0.05, -0.05, (1 - 0.8) / 2, -0.05], "grad.logits")
    }
}
