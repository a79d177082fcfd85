import Foundation
import Testing
@testable import MobileNet

/// End to end: a short real training run (loader, augmentation, model, loss, SGD,
/// OneCycleLR, evaluation) on a small generated data set whose classes are learnable.
@Suite struct TrainingRunTests {
    /// `count` 32×32 images; class k (< 3) is a bright horizontal band of rows
    /// 10k+1 ..< 10k+7, tinted per class, plus uniform noise: unchanged by horizontal
    /// flips, and bands stay 10 rows apart, so 4-pixel crops cannot confuse neighbours.
    static func patternDataset(count: Int, classes: Int, split: Split, seed: UInt64) -> CIFARDataset {
        var rng = TestRNG(seed: seed)
        var images = [UInt8](repeating: 0, count: count * CIFARImage.bytes)
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let label = i % classes
            labels[i] = Int32(label)
            for c in 0..<3 {
                for y in 0..<32 {
                    for x in 0..<32 {
                        let inBand = y >= 10 * label + 1 && y < 10 * label + 7
                        let base = inBand ? (c == label % 3 ? 230 : 150) : 40
                        let noise = Int(rng.next() % 40)
                        images[i * CIFARImage.bytes + c * 1024 + y * 32 + x] = UInt8(min(255, base + noise))
                    }
                }
            }
        }
        return CIFARDataset(dataset: .cifar10, split: split, images: images, labels: labels,
                            classNames: (0..<10).map { "class\($0)" })
    }

    @Test func lossFallsAndClassesAreLearnedOnASmallGeneratedSet() throws {
        let train = Self.patternDataset(count: 48, classes: 3, split: .train, seed: 1)
        let test = Self.patternDataset(count: 30, classes: 3, split: .test, seed: 2)
        var options = TrainingOptions()
        options.epochs = 8
        options.batchSize = 16
        options.maxLearningRate = 0.1
        options.widthMultiplier = 0.25
        options.seed = 3
        let model = MobileNetV1(numClasses: 10, widthMultiplier: options.widthMultiplier, seed: options.seed)
        let trainLoader = BatchLoader(dataset: train, configuration: .training(batchSize: options.batchSize, seed: options.seed))
        let testLoader = BatchLoader(dataset: test, configuration: .evaluation(batchSize: 16))
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: trainLoader.stepsPerEpoch)
        let loop = TrainingLoop(session: session, trainLoader: trainLoader, testLoader: testLoader)

        var summaries: [EpochSummary] = []
        var steps = 0
        for epoch in 0..<options.epochs {
            let (summary, completed) = try loop.runEpoch(epoch, onStep: { _ in steps += 1 })
            #expect(completed)
            summaries.append(summary)
        }
        #expect(steps == options.epochs * 3)
        #expect(session.globalStep == options.epochs * 3)
        // Chance level for 10 outputs is ln 10 ≈ 2.30; the loss must fall well below it.
        let first = summaries.first!.trainLoss, last = summaries.last!.trainLoss
        #expect(first > 1.0, "first epoch's loss \(first) is suspiciously low")
        #expect(last < 0.5 * first, "training loss fell only from \(first) to \(last)")
        // Training-mode accuracy on the last epoch's batches: well above chance (1/3), the
        // classes are learned. The trajectory depends on the summation order, which differs
        // between OpenBLAS's kernels: after these 24 steps it was 0.94–0.98 with the
        // Cooperlake, SkylakeX and Haswell kernels, so the bound leaves room for any CPU.
        // (Eval mode is not asserted: after 24 steps BatchNorm's running statistics,
        // momentum 0.1, still carry 8 % of their initial values, as in PyTorch.)
        let trainAccuracy = summaries.last!.trainAccuracy
        #expect(trainAccuracy >= 0.75, "training accuracy \(trainAccuracy) after \(options.epochs) epochs")
        let evaluation = try #require(summaries.last!.test)
        #expect(evaluation.count == 30)
        #expect(evaluation.loss.isFinite)
    }

    @Test func nonFiniteLossStopsBeforeTheUpdate() throws {
        let train = Self.patternDataset(count: 16, classes: 3, split: .train, seed: 1)
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = 8
        options.widthMultiplier = 0.25
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 1)
        let loader = BatchLoader(dataset: train, configuration: .training(batchSize: 8, seed: 1, prefetch: 0))
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: loader.stepsPerEpoch)
        model.linear.bias.value.data[0] = .nan
        let before = model.namedParameters.map { $0.parameter.value.array.map(\.bitPattern) }
        loader.start(epoch: 0)
        let batch = try #require(loader.next())
        #expect(throws: TrainingSession.NonFiniteError.self) {
            _ = try session.step(images: batch.images, targets: batch.labels)
        }
        let after = model.namedParameters.map { $0.parameter.value.array.map(\.bitPattern) }
        #expect(before == after, "a diverged step must not touch the weights")
        #expect(session.globalStep == 0)
        loader.stop()
    }
}

extension TrainingRunTests {
    /// The loader keeps every augmented image with its own label: in the pattern set
    /// the brightest band of rows tells an image's class (crops move it by ≤ 4 rows).
    @Test func shuffledAugmentedBatchesKeepImagesWithTheirLabels() throws {
        let train = Self.patternDataset(count: 39, classes: 3, split: .train, seed: 5)
        let loader = BatchLoader(dataset: train, configuration: .training(batchSize: 16, seed: 9))
        for epoch in 0..<2 {
            loader.start(epoch: epoch)
            while let batch = loader.next() {
                let n = batch.size
                for i in 0..<n {
                    // Row means of the red plane; the band's rows are the bright ones. A crop
                    // shifts the band by d ∈ [−4, 4] rows, so the bright rows' centroid lies
                    // within 4 rows of 10k + 3.5 (also when the image edge clips the band).
                    var rowMeans = [Float](repeating: 0, count: 32)
                    for y in 0..<32 {
                        for x in 0..<32 { rowMeans[y] += batch.images.data[(y * 32 + x) * n + i] / 32 }
                    }
                    let threshold = (rowMeans.max()! + rowMeans.min()!) / 2
                    let bright = (0..<32).filter { rowMeans[$0] > threshold }
                    let centroid = Float(bright.reduce(0, +)) / Float(bright.count)
                    let brightest = Int(((centroid - 3.5) / 10).rounded())
                    #expect(brightest == Int(batch.labels[i]), "epoch \(epoch) step \(batch.step) image \(i)")
                }
            }
        }
    }
}
