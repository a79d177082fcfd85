import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `--bn-recalibrate N` (update_bn, momentum=None): every BatchNorm's running statistics
/// against the per-channel mean and unbiased variance of its input, computed here in Double
/// from the layers run one by one in training mode.
@Suite struct BatchNormRecalibrationTests {
    typealias Statistics = [String: (mean: [Double], variance: [Double])]

    /// Each BatchNorm's input statistics for one batch: per channel, the mean and the
    /// unbiased variance (M/(M − 1), as running_var) over its H·W·N values. The layers run in
    /// turn in training mode on `model` (whose running statistics this changes).
    static func inputStatistics(_ model: MobileNetV1, images: FeatureMap) -> Statistics {
        var x = images
        var statistics: Statistics = [:]
        for (name, layer) in model.namedLayers {
            if layer is BatchNorm2d {
                let m = x.shape.channelStride
                var means: [Double] = [], variances: [Double] = []
                for c in 0..<x.shape.channels {
                    let values = (0..<m).map { Double(x.data[c * m + $0]) }
                    let mean = values.reduce(0, +) / Double(m)
                    means.append(mean)
                    variances.append(values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(m - 1))
                }
                statistics[name] = (means, variances)
            }
            x = layer.forward(x, training: true)
        }
        return statistics
    }

    /// A model with `source`'s weights (its running statistics do not matter in training mode).
    static func twin(of source: MobileNetV1) -> MobileNetV1 {
        let twin = MobileNetV1(numClasses: source.numClasses, widthMultiplier: source.widthMultiplier, seed: 99)
        ExponentialMovingAverage.copy(from: source, into: twin)
        return twin
    }

    /// Expects every BatchNorm's running mean and variance to equal `expected`, |a − b| ≤
    /// 1e-5 + 1e-4·|b| (Float statistics against Double), and num_batches_tracked = `batches`.
    static func expectRunningStatistics(_ model: MobileNetV1, equal expected: Statistics, batches: Int,
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        let norms = model.namedLayers.compactMap { entry in (entry.layer as? BatchNorm2d).map { (entry.name, $0) } }
        #expect(norms.count == expected.count && norms.count == 27, sourceLocation: sourceLocation)
        var worst = (name: "", ratio: 0.0)
        for (name, norm) in norms {
            guard let e = expected[name] else { Issue.record("no statistics for \(name)", sourceLocation: sourceLocation); continue }
            let actual: [Float] = norm.runningMean.array + norm.runningVar.array
            let wanted: [Double] = e.mean + e.variance
            for (a, b) in zip(actual, wanted) {
                let ratio: Double = abs(Double(a) - b) / (1e-5 + 1e-4 * abs(b))
                if ratio > worst.ratio { worst = (name, ratio) }
            }
            #expect(norm.numBatchesTracked.value == Int64(batches), "\(name)", sourceLocation: sourceLocation)
        }
        #expect(worst.ratio <= 1, "\(worst.name) is \(worst.ratio)× the tolerance off", sourceLocation: sourceLocation)
    }

    /// One batch of 6 images: the running statistics are that batch's input statistics.
    /// Twelve images in batches of 8 and 4: the equal-weight mean of the two batches'.
    @Test(arguments: [(6, 8), (12, 8)])
    func recalibratedStatisticsAreTheInputStatistics(count: Int, batchSize: Int) throws {
        let train = CheckpointFixture.dataset(count: 24)
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 3)
        let reference = Self.twin(of: model)
        let sample = BatchNormRecalibration.sample(of: train, count: count, seed: 5, epochs: 2)
        let loader = BatchNormRecalibration.loader(sample, batchSize: batchSize, augmentation: AugmentationOptions.evaluation)
        var batches: [Statistics] = []
        loader.start(epoch: 0)
        while let batch = loader.next() { batches.append(Self.inputStatistics(reference, images: batch.images)) }
        #expect(batches.count == (count + batchSize - 1) / batchSize)
        func average(_ vectors: [[Double]]) -> [Double] {
            (0..<vectors[0].count).map { i in vectors.map { $0[i] }.reduce(0, +) / Double(vectors.count) }
        }
        var expected: Statistics = [:]
        for name in batches[0].keys {
            expected[name] = (average(batches.map { $0[name]!.mean }), average(batches.map { $0[name]!.variance }))
        }
        let weightsBefore = CheckpointFixture.bits(model).filter { !$0.key.contains("running") && !$0.key.contains("num_batches") }
        #expect(BatchNormRecalibration.recalibrate(model, loader: loader) == batches.count)
        Self.expectRunningStatistics(model, equal: expected, batches: batches.count)
        let weightsAfter = CheckpointFixture.bits(model).filter { !$0.key.contains("running") && !$0.key.contains("num_batches") }
        CheckpointFixture.expectIdentical(weightsAfter, weightsBefore, "the weights")
        #expect(model.entryNorm.cumulativeAverage == false, "momentum restored")
    }

    /// The sample: the first N of the seeded permutation for epoch `epochs`, without augmentation.
    @Test func sampleIsTheSeededPermutationsHeadInTheEvaluationTransform() throws {
        let train = CheckpointFixture.dataset(count: 24)
        let sample = BatchNormRecalibration.sample(of: train, count: 5, seed: 5, epochs: 2)
        let order = EpochOrder.shuffled(count: 24, seed: 5, epoch: 2).prefix(5).map(Int.init)
        #expect(sample.labels == order.map { train.labels[$0] })
        let bytes = train.imageBytes
        #expect(sample.images == order.flatMap { train.images[$0 * bytes ..< ($0 + 1) * bytes] })
        let loader = BatchNormRecalibration.loader(sample, batchSize: 8, augmentation: AugmentationOptions.evaluation)
        loader.start(epoch: 0)
        let batch = try #require(loader.next())
        // Normalised by hand: (byte/255 − mean)/std, image n's plane c, no crop, no flip.
        let values = batch.images.nchwArray()
        var worst = 0.0
        for n in 0..<5 { for c in 0..<3 { for p in 0..<1024 {
            let byte = Float(sample.images[n * bytes + c * 1024 + p])
            let expected = (byte / 255 - AugmentationOptions.cifarMean[c]) / AugmentationOptions.cifarStd[c]
            worst = max(worst, Double(abs(values[(n * 3 + c) * 1024 + p] - expected)))
        } } }
        #expect(worst < 1e-5)
    }

    /// `train --bn-recalibrate 6 --ema-decay 0.5`: the last checkpoint's trained weights and
    /// moving average both carry their input statistics over the 6 sampled images.
    @Test func aRunSavesRecalibratedStatisticsForBothModels() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let command = try RecipeTests.trainCommand(["--data", folder, "--epochs", "1", "--batch-size", "8", "--width-multiplier", "0.125",
                                                        "--checkpoint-dir", folder + "/run", "--bn-recalibrate", "6", "--ema-decay", "0.5"])
            let setup = try TrainCommand.setUp(command.request)
            #expect(try setup.execute(metrics: nil, shouldStop: { false }, onEvent: { _ in }) == .completed)
            let checkpoint = try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder + "/run"))
            // The sample by its rule, normalised by hand into one batch.
            let order = EpochOrder.shuffled(count: 16, seed: 0, epoch: 1).prefix(6).map(Int.init)
            let train = setup.train, bytes = train.imageBytes
            var nchw: [Float] = []
            for n in order { for c in 0..<3 { for p in 0..<1024 {
                nchw.append((Float(train.images[n * bytes + c * 1024 + p]) / 255 - AugmentationOptions.cifarMean[c]) / AugmentationOptions.cifarStd[c])
            } } }
            let images = FeatureMap(nchw: nchw, shape: FeatureShape(channels: 3, height: 32, width: 32, batch: 6))
            for file in [checkpoint.model, try #require(checkpoint.ema)] {
                let saved = try MobileNetV1(contentsOf: file, strict: true)
                let expected = Self.inputStatistics(Self.twin(of: saved), images: images)
                Self.expectRunningStatistics(saved, equal: expected, batches: 1)
            }
        }
    }

    /// `--bn-recalibrate-transform train`: each image of a batch is its source image cropped
    /// from the 4-pixel zero-padded 40×40 at some offset (dy, dx) in −4…4 and mirrored or not,
    /// at full size although the run's crop schedule starts smaller — found here by trying all
    /// 162 placements against the normalised source, padding being normalised black
    /// ((0 − mean)/std). Over the sample both mirrored and unmirrored images and shifted ones
    /// appear, and the eval transform gives every image as is.
    @Test func trainTransformGivesPaddedCropsAndFlipsAtFullSize() throws {
        let train = CheckpointFixture.dataset(count: 24)
        let training = AugmentationOptions(cropPadding: 4, horizontalFlip: true,
                                           cropSchedule: CropSchedule(phases: [.init(size: 24, epochs: 3)])).flipping(alternately: true)
        let sample = BatchNormRecalibration.sample(of: train, count: 16, seed: 5, epochs: 4)
        let bytes = train.imageBytes
        func placements(transform: RecalibrationTransform) throws -> [[(dy: Int, dx: Int, flip: Bool)]] {
            let loader = BatchNormRecalibration.loader(sample, batchSize: 16, augmentation: BatchNormRecalibration.augmentation(transform, training: training), seed: 5)
            loader.start(epoch: 0)
            let batch = try #require(loader.next())
            #expect(batch.images.shape == FeatureShape(channels: 3, height: 32, width: 32, batch: 16))
            let values = batch.images.nchwArray()
            return (0..<16).map { n in
                var found: [(dy: Int, dx: Int, flip: Bool)] = []
                for dy in -4...4 { for dx in -4...4 { for flip in [false, true] {
                    var matches = true
                    outer: for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
                        let sy = y + dy, sx = (flip ? 31 - x : x) + dx
                        let byte: Float = (0..<32).contains(sy) && (0..<32).contains(sx) ? Float(sample.images[n * bytes + c * 1024 + sy * 32 + sx]) : 0
                        let expected = (byte / 255 - AugmentationOptions.cifarMean[c]) / AugmentationOptions.cifarStd[c]
                        if abs(values[((n * 3 + c) * 32 + y) * 32 + x] - expected) > 1e-5 { matches = false; break outer }
                    } } }
                    if matches { found.append((dy, dx, flip)) }
                } } }
                return found
            }
        }
        let trained = try placements(transform: .train)
        #expect(trained.allSatisfy { $0.count >= 1 }, "every image is a padded crop of its source, mirrored or not")
        let first = trained.compactMap(\.first)
        #expect(first.contains { $0.flip } && first.contains { !$0.flip }, "random flips")
        #expect(first.contains { $0.dy != 0 || $0.dx != 0 }, "random crops")
        let evaluated = try placements(transform: .eval)
        #expect(evaluated.allSatisfy { $0.count == 1 && $0[0].dy == 0 && $0[0].dx == 0 && !$0[0].flip })
    }

    /// `evaluate --bn-recalibrate 6 --bn-recalibrate-transform train` on a run trained without
    /// recalibration leaves its EMA (the default) and its trained weights (`--raw-weights`)
    /// with the running statistics, bit for bit, that `train --bn-recalibrate 6
    /// --bn-recalibrate-transform train` saved for the same run; on that run, evaluate's
    /// default transform is the run's. With the eval transform the statistics are those of
    /// the sample computed by hand from the 12 images left after `--val-split 4`.
    @Test func evaluateRecalibratesAsTheRunWould() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            func train(_ name: String, _ extra: [String]) throws -> (TrainingCheckpoint, ImageDataset) {
                let command = try RecipeTests.trainCommand(["--data", folder, "--epochs", "1", "--batch-size", "4", "--width-multiplier", "0.125",
                                                            "--val-split", "4", "--ema-decay", "0.5", "--checkpoint-dir", folder + "/" + name] + extra)
                let setup = try TrainCommand.setUp(command.request)
                #expect(try setup.execute(metrics: nil, shouldStop: { false }, onEvent: { _ in }) == .completed)
                return (try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder + "/" + name)), setup.train)
            }
            let (recalibrated, _) = try train("recalibrated", ["--bn-recalibrate", "6", "--bn-recalibrate-transform", "train"])
            let (plain, trainImages) = try train("plain", [])
            #expect(recalibrated.options.bnRecalibrateTransform == .train && trainImages.count == 12)
            func evaluated(_ run: String, _ flags: [String]) throws -> MobileNetV1 {
                let arguments = ["evaluate", "--checkpoint", folder + "/" + run, "--data", folder, "--bn-recalibrate", "6"] + flags
                let command = try #require(try MobileNetTrain.parseAsRoot(arguments) as? EvaluateCommand)
                let loaded = try LoadedModel(checkpoint: folder + "/" + run, strict: true, raw: flags.contains("--raw-weights"))
                let line = try #require(try command.recalibrate(loaded, dataPath: folder))
                #expect(line.contains("6 training images"), "\(line)")
                return loaded.model
            }
            func running(_ model: MobileNetV1) -> [String: [UInt64]] { CheckpointFixture.bits(model).filter { $0.key.contains("running") } }
            let savedEMA = running(try MobileNetV1(contentsOf: try #require(recalibrated.ema), strict: true))
            let savedRaw = running(try MobileNetV1(contentsOf: recalibrated.model, strict: true))
            #expect(savedEMA.count == 54 && savedEMA != savedRaw)
            CheckpointFixture.expectIdentical(running(try evaluated("plain", ["--bn-recalibrate-transform", "train"])), savedEMA, "the EMA")
            CheckpointFixture.expectIdentical(running(try evaluated("plain", ["--bn-recalibrate-transform", "train", "--raw-weights"])), savedRaw, "the trained weights")
            CheckpointFixture.expectIdentical(running(try evaluated("recalibrated", [])), savedEMA, "the run's transform by default")
            #expect(running(try MobileNetV1(contentsOf: try #require(plain.ema), strict: true)) != savedEMA, "recalibration changed the statistics")
            // The eval transform, by hand: the first 6 of the seeded order over the 12 training images.
            let bytes = trainImages.imageBytes
            var nchw: [Float] = []
            for n in EpochOrder.shuffled(count: 12, seed: 0, epoch: 1).prefix(6).map(Int.init) { for c in 0..<3 { for p in 0..<1024 {
                nchw.append((Float(trainImages.images[n * bytes + c * 1024 + p]) / 255 - AugmentationOptions.cifarMean[c]) / AugmentationOptions.cifarStd[c])
            } } }
            let byEval = try evaluated("plain", ["--bn-recalibrate-transform", "eval"])
            // Batches of --batch-size 4: images 0–3 and 4–5, each batch's statistics weighing 1/2.
            let batches = [0..<4, 4..<6].map { range in
                Self.inputStatistics(Self.twin(of: byEval), images: FeatureMap(
                    nchw: Array(nchw[range.lowerBound * 3072 ..< range.upperBound * 3072]),
                    shape: FeatureShape(channels: 3, height: 32, width: 32, batch: range.count)))
            }
            var expected: Statistics = [:]
            for (name, first) in batches[0] {
                let second = batches[1][name]!
                expected[name] = (zip(first.mean, second.mean).map { ($0 + $1) / 2 }, zip(first.variance, second.variance).map { ($0 + $1) / 2 })
            }
            Self.expectRunningStatistics(byEval, equal: expected, batches: 2)
        }
    }

    /// Bad `evaluate` recalibration flags are refused by name, before any evaluation.
    @Test func evaluateRefusesRecalibrationItCannotDo() throws {
        try CIFARFixture.withFolder { folder in
            let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 1)
            let file = folder + "/bare.safetensors"
            try model.save(to: file)
            FlagTests.expectRejected(["evaluate", "--checkpoint", file, "--bn-recalibrate-transform", "train"],
                                     naming: "--bn-recalibrate-transform", mentioning: ["applies only with --bn-recalibrate N"])
            FlagTests.expectRejected(["evaluate", "--checkpoint", file, "--bn-recalibrate", "0"], naming: "--bn-recalibrate", mentioning: ["at least 1"])
            let command = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", file, "--bn-recalibrate", "10"]) as? EvaluateCommand)
            let message: String
            do { _ = try command.recalibrationOptions(modelPath: file); message = "accepted" } catch { message = "\(error)" }
            #expect(message.contains(file) && message.contains("belongs to no training run"), "\(message)")
        }
    }
}
