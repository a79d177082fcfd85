import Foundation
import Testing
@testable import MobileNet

/// Horizontal-flip test-time augmentation: the batch mirror, the averaged probabilities
/// against hand-computed and independently computed values, and `.none` as the plain pass.
@Suite struct TestTimeAugmentationTests {
    /// One channel, 2×3 image, batch 2. Image 0 has value 10y + x at (y, x), image 1 has
    /// 100 + 10y + x; stored C × H × W × N, so each pixel's two images sit side by side.
    @Test func mirrorReversesTheColumnsOfEveryRowForEveryImage() {
        let shape = FeatureShape(channels: 1, height: 2, width: 3, batch: 2)
        let input = FeatureMap(shape: shape)
        let values: [Float] = [0, 100, 1, 101, 2, 102,
                               10, 110, 11, 111, 12, 112]
        for (i, value) in values.enumerated() { input.data[i] = value }
        // A reused buffer of larger capacity, holding another shape: reshaped to the input's.
        let output = FeatureMap(shape: FeatureShape(channels: 2, height: 2, width: 3, batch: 3))
        input.mirrorLeftRight(into: output)
        #expect(output.shape == shape)
        // Copies, not arithmetic: the values must be these exactly.
        #expect(Array(output.buffer) == [2, 102, 1, 101, 0, 100,
                                         12, 112, 11, 111, 10, 110])
        #expect(Array(input.buffer) == values)
    }

    /// Three classes, two samples; logits are logs of small integers so each softmax is a
    /// ratio. Sample 0 (target 1): as given p = (1, 2, 1)/4, mirrored (6, 1, 1)/8, so
    /// p̄ = (0.5, 0.3125, 0.1875): predicted 0, although the image alone predicts 1.
    /// Sample 1 (target 2): (1, 1, 2)/4 and (1, 3, 4)/8, p̄ = (0.1875, 0.3125, 0.5): right.
    @Test func flipAveragesTheSoftmaxNotTheLogits() {
        let asGiven = Self.logits([[log(1), log(2), log(1)], [log(1), log(1), log(2)]])
        let mirrored = Self.logits([[log(6), log(1), log(1)], [log(1), log(3), log(4)]])
        let targets: [Int32] = [1, 2]
        var average = SoftmaxAverage()
        var tally = EvaluationTally(classCount: 3)
        targets.withUnsafeBufferPointer { t in
            average.start(classes: 3, batch: 2, passes: 2)
            average.add(logits: asGiven, targets: t)
            average.add(logits: mirrored, targets: t)
            let loss = average.meanLoss
            average.probabilities.withUnsafeBufferPointer { tally.add(scores: $0, targets: t, meanLoss: loss) }
        }
        // [K, N]: class k of sample n at k·2 + n.
        expectAllClose(average.probabilities, [0.5, 0.1875, 0.3125, 0.3125, 0.1875, 0.5], "p̄")
        let loss = (-log(0.3125) - log(0.5)) / 2
        #expect(abs(average.meanLoss - loss) <= 1e-6 * loss)
        #expect(tally.top1Correct == 1 && tally.topKCorrect == 2)
        #expect(tally.confusion[1, 0] == 1 && tally.confusion[2, 2] == 1)
    }

    /// Target 0 with logits (0, 200) and (0, 300): p̄[0] ≈ ½·e⁻²⁰⁰ is far below Float's
    /// range, yet the loss is its exact cross-entropy 200 + log 2 (+ e⁻²⁰⁰, negligible).
    @Test func lossStaysFiniteWhenTheAveragedTargetProbabilityUnderflows() {
        var average = SoftmaxAverage()
        [Int32(0)].withUnsafeBufferPointer { t in
            average.start(classes: 2, batch: 1, passes: 2)
            average.add(logits: Self.logits([[0, 200]]), targets: t)
            average.add(logits: Self.logits([[0, 300]]), targets: t)
        }
        #expect(average.probabilities[0] == 0)
        #expect(abs(average.meanLoss - (200 + log(2))) <= 1e-12 * 200)
    }

    /// `.flip` through a real (small, random) network against the same network's plain
    /// logits on the images and on a data set mirrored byte by byte: p̄, its loss, top-1,
    /// top-5 and confusion computed directly here in Double.
    @Test func flipMatchesTheMeanSoftmaxOfTheImagesAndTheirMirrorsComputedDirectly() {
        let (model, test) = Self.modelAndImages()
        var mirroredImages = test.images
        let side = CIFARImage.side
        for row in 0..<(test.count * CIFARImage.channels * side) {
            mirroredImages[(row * side)..<((row + 1) * side)].reverse()
        }
        let mirrored = CIFARDataset(dataset: .cifar10, split: .test, images: mirroredImages, labels: test.labels, classNames: test.classNames)
        let plain = Self.logitsPerImage(model, test), flippedPlain = Self.logitsPerImage(model, mirrored)

        let classes = 10
        var expected = ConfusionMatrix(classCount: classes)
        var lossSum = 0.0, top1 = 0, top5 = 0
        for (i, target) in test.labels.map(Int.init).enumerated() {
            let a = Self.softmax(plain[i]), b = Self.softmax(flippedPlain[i])
            let mean = (0..<classes).map { (a[$0] + b[$0]) / 2 }
            let predicted = mean.indices.max { mean[$0] < mean[$1] }!
            expected.add(target: target, predicted: predicted)
            if predicted == target { top1 += 1 }
            if mean.filter({ $0 > mean[target] }).count < 5 { top5 += 1 }
            lossSum -= log(mean[target])
        }
        let tally = EvaluationTally.evaluate(model: model, loader: BatchLoader(dataset: test, configuration: .evaluation(batchSize: 16)),
                                             testTimeAugmentation: .flip)
        #expect(tally.count == test.count)
        #expect(tally.confusion == expected)
        #expect(tally.top1Correct == top1 && tally.topKCorrect == top5)
        let loss = lossSum / Double(test.count)
        // The same Float logits on both sides; only Double rounding differs.
        #expect(abs(tally.loss - loss) <= 1e-9 * loss, "loss \(tally.loss), expected \(loss)")
        // The case must tell flip from either pass alone.
        let alone = EvaluationTally.evaluate(model: model, loader: BatchLoader(dataset: test, configuration: .evaluation(batchSize: 16)))
        let mirroredAlone = EvaluationTally.evaluate(model: model, loader: BatchLoader(dataset: mirrored, configuration: .evaluation(batchSize: 16)))
        #expect(abs(alone.loss - loss) > 1e-3 && abs(mirroredAlone.loss - loss) > 1e-3)
        #expect(alone.confusion != expected && mirroredAlone.confusion != expected)
        #expect(expected.counts.filter { $0 > 0 }.count > 5, "predictions must vary: \(expected.counts)")
    }

    /// `.none` is today's evaluation exactly: per batch one forward, CrossEntropyLoss's
    /// mean loss and the logits' ranking, bit for bit (same arithmetic, so == is right).
    @Test func noneIsThePlainForwardBitForBit() {
        let (model, test) = Self.modelAndImages()
        let loader = BatchLoader(dataset: test, configuration: .evaluation(batchSize: 16))
        var expected = EvaluationTally(classCount: 10)
        let criterion = CrossEntropyLoss()
        loader.start(epoch: 0)
        while let batch = loader.next() {
            let logits = model.forward(batch.images, training: false)
            let loss = Double(criterion.forward(logits, targets: batch.labels))
            expected.add(scores: UnsafeBufferPointer(logits.buffer), targets: batch.labels, meanLoss: loss)
        }
        loader.stop()
        #expect(EvaluationTally.evaluate(model: model, loader: loader, testTimeAugmentation: .none) == expected)
        #expect(EvaluationTally.evaluate(model: model, loader: loader) == expected)
    }

    /// `train --val-split N --tta flip`: the test pass after the run uses the flip; the
    /// per-epoch evaluation stays plain.
    @Test func theTestPassAfterARunUsesTheRunsTestTimeAugmentation() throws {
        let (model, test) = Self.modelAndImages()
        var options = TrainingOptions()
        options.widthMultiplier = 0.25
        options.validationSplit = 5
        options.testTimeAugmentation = .flip
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: 1)
        func loader() -> BatchLoader { BatchLoader(dataset: test, configuration: .evaluation(batchSize: 16)) }
        let run = TrainingRun(loop: TrainingLoop(session: session, trainLoader: loader(), testLoader: loader(), validationLoader: loader()),
                              dataset: CheckpointDataset(name: "cifar10", coarseLabels: false, classNames: test.classNames, trainImages: 37),
                              checkpoints: nil)
        let result = try #require(try run.testOnce())
        let plain = EvaluationTally.evaluate(model: model, loader: loader())
        // Same model, same batches: the same arithmetic, so the tallies are equal exactly.
        #expect(result.final == EvaluationTally.evaluate(model: model, loader: loader(), testTimeAugmentation: .flip))
        #expect(result.final != plain && result.best == nil)
        #expect(evaluate(session: session, loader: loader()) == EvaluationResult(loss: plain.loss, correct: plain.top1Correct, count: 37))
    }

    /// A quarter-width network with non-trivial BatchNorm statistics (random weights and
    /// default statistics saturate every ReLU6, so all images give the same logits), its
    /// classifier scaled up and its bias centred on these images, so that the predictions
    /// vary from image to image and between an image and its mirror; 37 random images
    /// (batches 16, 16, 5).
    static func modelAndImages() -> (MobileNetV1, CIFARDataset) {
        let split = CIFARFixture.split(count: 37, classes: 10, seed: 8)
        let test = CIFARDataset(dataset: .cifar10, split: .test, images: split.images, labels: split.labels, classNames: CIFARFixture.cifar10Names)
        let model = FoldedMobileNetV1Tests.model(seed: 5)
        let weight = model.linear.weight.value, bias = model.linear.bias.value
        for i in 0..<weight.count { weight.data[i] *= 20 }
        let logits = logitsPerImage(model, test)
        for k in 0..<bias.count { bias.data[k] -= logits.map { $0[k] }.reduce(0, +) / Float(logits.count) }
        return (model, test)
    }

    /// Each image's logits, from a plain evaluation pass.
    static func logitsPerImage(_ model: MobileNetV1, _ data: CIFARDataset) -> [[Float]] {
        var rows: [[Float]] = []
        _ = EvaluationTally.evaluate(model: model, loader: BatchLoader(dataset: data, configuration: .evaluation(batchSize: 16))) { logits, batch in
            let nk = logits.nchwArray(), k = logits.shape.channels
            for n in 0..<batch.size { rows.append(Array(nk[(n * k)..<((n + 1) * k)])) }
        }
        return rows
    }

    static func softmax(_ logits: [Float]) -> [Double] {
        let exps = logits.map { exp(Double($0)) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }

    /// Logits [K, 1, 1, N] from one row of K values per sample.
    static func logits(_ perSample: [[Double]]) -> FeatureMap {
        let n = perSample.count, k = perSample[0].count
        return FeatureMap(nchw: perSample.flatMap { $0.map(Float.init) }, shape: FeatureShape(channels: k, height: 1, width: 1, batch: n))
    }
}
