import Testing
@testable import MobileNet

/// Data sets whose images are not 32×32: crops, padding and batches follow the data set's
/// side L, and CIFAR keeps 32.
@Suite struct ImageSideTests {
    /// An L×L×3 image of pseudo-random bytes (R, G, B planes).
    static func image(side: Int, seed: UInt64) -> [UInt8] {
        var rng = TestRNG(seed: seed)
        return (0..<(3 * side * side)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// The crop computed another way: `image` written into an explicit zero-padded
    /// (L + 2p)² canvas, the S×S window read out of it, mirrored, then normalised.
    static func paddedCanvasCrop(_ image: [UInt8], side: Int, padding p: Int, _ choice: CropFlip,
                                 transform: ImageTransform) -> [Float] {
        let canvasSide = side + 2 * p, crop = choice.size
        var canvas = [UInt8](repeating: 0, count: 3 * canvasSide * canvasSide)
        for c in 0..<3 {
            for y in 0..<side {
                for x in 0..<side { canvas[(c * canvasSide + y + p) * canvasSide + x + p] = image[(c * side + y) * side + x] }
            }
        }
        var out: [Float] = []
        for c in 0..<3 {
            for y in 0..<crop {
                for x in 0..<crop {
                    let column = choice.left + (choice.flip ? crop - 1 - x : x)
                    out.append(transform.normalised(canvas[(c * canvasSide + choice.top + y) * canvasSide + column], channel: c))
                }
            }
        }
        return out
    }

    @Test(arguments: [(40, 5), (20, 3), (57, 0)])
    func everyCropPositionMatchesThePaddedCanvas(side: Int, padding: Int) {
        let image = Self.image(side: side, seed: UInt64(side))
        let options = AugmentationOptions(imageSide: side, cropPadding: padding, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3])
        let transform = ImageTransform(options: options)
        for size in [side, side - 3, 8] {
            let span = side + 2 * padding - size
            for (top, left) in [(0, 0), (span, span), (0, span), (span / 2, span / 3)] {
                for flip in [false, true] {
                    let choice = CropFlip(top: top, left: left, flip: flip, size: size)
                    let output = FeatureMap(shape: FeatureShape(channels: 3, height: size, width: size, batch: 1))
                    image.withUnsafeBufferPointer { transform.apply($0.baseAddress!, choice, into: output.data, slot: 0, batch: 1) }
                    #expect(Array(output.buffer) == Self.paddedCanvasCrop(image, side: side, padding: padding, choice, transform: transform),
                            "L \(side), \(choice)")
                }
            }
        }
    }

    /// A draw spans every window position of the padded L×L image: 0...L + 2p − S.
    @Test func drawCoversTheWholePaddedImage() {
        let options = AugmentationOptions(imageSide: 40, cropPadding: 2)
        let draws = (0..<3000).map { CropFlip.draw(seed: 3, epoch: 0, index: $0, options: options) }
        #expect(draws.allSatisfy { $0.size == 40 })
        #expect(Set(draws.map(\.top)) == Set(0...4) && Set(draws.map(\.left)) == Set(0...4))
        let identity = AugmentationOptions(imageSide: 40, cropPadding: 0, horizontalFlip: false)
        #expect(CropFlip.draw(seed: 3, epoch: 0, index: 0, options: identity) == .identity(padding: 0, size: 40))
    }

    /// A loader over 40×40 images with a crop schedule: epoch 0 gives the schedule's 24×24
    /// crops, epoch 1 the full 40×40, each image as its own draw crops it; the evaluation
    /// loader gives the images untouched (normalised only).
    @Test func batchesOfALargerSideTakeTheEpochsSize() throws {
        let side = 40, count = 6
        let images = (0..<count).flatMap { Self.image(side: side, seed: UInt64(100 + $0)) }
        let dataset = ImageDataset(images: images, labels: [0, 1, 2, 0, 1, 2], classNames: ["a", "b", "c"], imageSide: side)
        let options = AugmentationOptions(imageSide: side, cropPadding: 4, cropSchedule: try CropSchedule(parsing: "24:1"),
                                          mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        let loader = BatchLoader(dataset: dataset, configuration: .training(batchSize: 4, seed: 8, augmentation: options, prefetch: 1))
        let transform = ImageTransform(options: options)
        for (epoch, size) in [(0, 24), (1, 40)] {
            let batches = BatchLoaderTests.epoch(loader, epoch)
            #expect(batches.map(\.shape) == [FeatureShape(channels: 3, height: size, width: size, batch: 4),
                                             FeatureShape(channels: 3, height: size, width: size, batch: 2)])
            for batch in batches {
                let n = batch.shape.batch
                for (slot, index) in batch.indices.enumerated() {
                    let i = Int(index)
                    #expect(batch.labels[slot] == dataset.labels[i])
                    let choice = CropFlip.draw(seed: 8, epoch: epoch, index: i, options: options)
                    let expected = Self.paddedCanvasCrop(Array(images[i * 4800 ..< (i + 1) * 4800]), side: side, padding: 4, choice,
                                                         transform: transform)
                    let actual: [Float] = (0..<(3 * size * size)).map { batch.images[$0 * n + slot] }
                    #expect(actual == expected, "epoch \(epoch), image \(i)")
                }
            }
        }
        let evaluation = BatchLoader(dataset: dataset, configuration: .evaluation(batchSize: 6, augmentation: options.forEvaluation))
        let plain = try #require(BatchLoaderTests.epoch(evaluation, 0).first)
        #expect(plain.shape == FeatureShape(channels: 3, height: 40, width: 40, batch: 6))
        let normalised: [Float] = (0..<4800).map { transform.normalised(images[3 * 4800 + $0], channel: $0 / 1600) }
        let slot3: [Float] = (0..<4800).map { plain.images[$0 * 6 + 3] }
        #expect(slot3 == normalised)
    }

    /// CIFAR stays at 32: its data set says so, the default transforms are 32×32, and the
    /// reference recipe's normalisation is unchanged.
    @Test func cifarKeepsItsSide() {
        let split = CIFARFixture.split(count: 2, classes: 10, seed: 1)
        let cifar = CIFARDataset(dataset: .cifar10, split: .train, images: split.images, labels: split.labels, classNames: CIFARFixture.cifar10Names)
        #expect(cifar.imageSide == 32 && cifar.imageBytes == 3072)
        #expect(AugmentationOptions.training.imageSide == 32 && AugmentationOptions.evaluation == AugmentationOptions.training.forEvaluation)
        #expect(TrainingOptions().trainingAugmentation == AugmentationOptions.training)
        let converted = ImageDataset(cifar)
        #expect(converted.images == cifar.images && converted.labels == cifar.labels && converted.fingerprint == cifar.fingerprint)
    }

    /// --crop-padding and --crop-schedule are bounded by --image-size, and the message says so.
    @Test func cropLimitsFollowTheImageSize() throws {
        var options = TrainingOptions()
        options.imageSize = 64
        options.cropPadding = 40
        options.epochs = 3
        options.cropSchedule = try CropSchedule(parsing: "48:1")
        try options.validate()
        options.imageSize = 32
        for (flag, mentioning) in [("--crop-padding", "0...32 (--image-size)")] {
            #expect {
                try options.validate()
            } throws: { error in
                let invalid = error as? TrainingOptions.InvalidOption
                return invalid?.flag == flag && invalid?.message.contains(mentioning) == true
            }
        }
        options.cropPadding = 4
        #expect {
            try options.validate()
        } throws: { error in
            let invalid = error as? TrainingOptions.InvalidOption
            return invalid?.flag == "--crop-schedule" && invalid?.message.contains("1...32 (--image-size), got 48") == true
        }
        options.imageSize = 7
        #expect {
            try options.validate()
        } throws: { error in
            (error as? TrainingOptions.InvalidOption)?.flag == "--image-size"
        }
    }

    /// MobileNetV1's CIFAR variant (entry stride 1, four stride-2 blocks, global average
    /// pooling) takes any side: the last maps are ⌈S/16⌉ on a side, so one image gives the
    /// last BatchNorm2d ⌈S/16⌉² values per channel; a single-image batch trains from S = 17 on.
    @Test func lastMapsFollowTheSide() {
        for side in [8, 16, 17, 20, 32, 40, 48, 64, 65, 224] {
            #expect(MobileNetV1.lastMapSide(inputSide: side) == (side + 15) / 16, "S \(side)")
        }
        #expect(MobileNetV1.batchNormValuesPerImage(cropSides: [16]) == 1)
        #expect(MobileNetV1.batchNormValuesPerImage(cropSides: [40]) == 9)
        #expect(MobileNetV1.batchNormValuesPerImage(cropSides: [24, 64]) == 4)
        let tiny = ImageDataset(images: Self.image(side: 16, seed: 1) + Self.image(side: 16, seed: 2) + Self.image(side: 16, seed: 3),
                                labels: [0, 1, 0], classNames: ["a", "b"], imageSide: 16)
        let dropping = BatchLoader(dataset: tiny, configuration: .training(
            batchSize: 2, seed: 1, augmentation: AugmentationOptions(imageSide: 16), batchNormValuesPerImage: 1))
        #expect(dropping.stepsPerEpoch == 1 && dropping.droppedForBatchNorm == 1)
    }

    /// The network at S = 40 and 72: the eval-mode forward and the folded inference network
    /// (two separate implementations) agree, with the whole-network rule of the golden README;
    /// a training step's logits and loss are finite and the last maps have the size above.
    @Test(arguments: [40, 72])
    func networkRunsAtOtherSides(side: Int) {
        let model = FoldedMobileNetV1Tests.model(seed: UInt64(side))
        var rng = TestRNG(seed: 5)
        let input = randomFeatureMap(FeatureShape(channels: 3, height: side, width: side, batch: 3), &rng)
        let expected = model.forward(input, training: false).nchwArray()
        #expect(expected.count == 30)
        expectAllClose(model.makeInferenceModel().forward(input).nchwArray(), expected, atolScale: 1e-4, rtol: 1e-4, "logits at S \(side)")
        let logits = model.forward(input, training: true)
        #expect(logits.shape == FeatureShape(channels: 10, height: 1, width: 1, batch: 3))
        let loss = CrossEntropyLoss().forward(logits, targets: [1, 2, 3])
        #expect(loss.isFinite)
    }
}
