import Testing
@testable import MobileNet

/// A last training batch that would give BatchNorm2d one value per channel (one image at
/// 1×1 last maps) is dropped and its steps counted without it; one 32×32 image is trained on.
@Suite struct SingleImageBatchTests {
    static func dataset(count: Int) -> CIFARDataset {
        let split = CIFARFixture.split(count: count, classes: 10, seed: 5)
        return CIFARDataset(dataset: .cifar10, split: .train, images: split.images, labels: split.labels,
                            classNames: CIFARFixture.cifar10Names)
    }

    @Test func trainingLoaderDropsALastBatchOfOneImage() {
        // 17 = 2 · 8 + 1.
        let loader = BatchLoader(dataset: Self.dataset(count: 17), configuration: .training(batchSize: 8, seed: 4, prefetch: 0))
        #expect(loader.stepsPerEpoch == 2)
        var skipped: Set<Int32> = []
        for epoch in 0..<3 {
            let batches = BatchLoaderTests.epoch(loader, epoch)
            #expect(batches.map { $0.shape.batch } == [8, 8])
            let seen = Set(batches.flatMap(\.indices))
            #expect(seen.count == 16)
            skipped.formUnion(Set(0..<17).subtracting(seen))
        }
        // The shuffled order leaves out a different image in some epoch.
        #expect(skipped.count > 1)
    }

    @Test func stepCountMatchesPyTorchOtherwise() {
        let training = { (count: Int, batch: Int) in
            BatchLoader(dataset: Self.dataset(count: count), configuration: .training(batchSize: batch, seed: 0, prefetch: 0)).stepsPerEpoch
        }
        // A remainder of 2 or more stays a batch; the whole set fitting in one batch stays one step.
        #expect(training(18, 8) == 3)
        #expect(training(16, 8) == 2)
        #expect(training(5, 8) == 1)
        // A one-image data set has no trainable batch at all.
        #expect(training(1, 8) == 0)
        // Evaluation (BatchNorm2d uses running statistics) keeps the one-image batch.
        let evaluation = BatchLoader(dataset: Self.dataset(count: 17), configuration: .evaluation(batchSize: 8, prefetch: 0))
        #expect(evaluation.stepsPerEpoch == 3)
        #expect(BatchLoaderTests.epoch(evaluation, 0).map { $0.shape.batch } == [8, 8, 1])
    }

    @Test func trainingOn17ImagesWithBatch8RunsTheWholeSchedule() throws {
        var options = TrainingOptions()
        options.epochs = 2
        options.batchSize = 8
        options.widthMultiplier = 1.0 / 32
        let model = MobileNetV1(numClasses: 10, widthMultiplier: options.widthMultiplier, seed: 1)
        let loader = BatchLoader(dataset: Self.dataset(count: 17), configuration: .training(batchSize: 8, seed: 1, prefetch: 0))
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: loader.stepsPerEpoch)
        let loop = TrainingLoop(session: session, trainLoader: loader, testLoader: nil)
        for epoch in 0..<options.epochs {
            let (summary, completed) = try loop.runEpoch(epoch, onStep: { _ in })
            #expect(completed)
            #expect(summary.trainLoss.isFinite)
        }
        // Every scheduled OneCycleLR step was taken, none past its end.
        #expect(session.globalStep == 4)
    }

    /// The last maps' side, by hand: 32 → 16 → 8 → 4 → 2 over the four stride-2 blocks;
    /// 24 → 12 → 6 → 3 → 2 (⌈3/2⌉); 16 → … → 1.
    @Test func lastMapSidesAndValuesPerImage() {
        #expect(MobileNetV1.lastMapSide(inputSide: 32) == 2)
        #expect(MobileNetV1.lastMapSide(inputSide: 24) == 2)
        #expect(MobileNetV1.lastMapSide(inputSide: 16) == 1)
        #expect(MobileNetV1.batchNormValuesPerImage(cropSides: [32]) == 4)
        #expect(MobileNetV1.batchNormValuesPerImage(cropSides: [24, 32]) == 4)
        #expect(MobileNetV1.batchNormValuesPerImage(cropSides: [16, 32]) == 1)
    }

    /// As PyTorch: a last batch of one 32×32 image gives every BatchNorm 4 values per channel
    /// (2×2 last maps), so it is trained on: 17 images, batch 8 → 3 steps, the last of 1.
    @Test func lastBatchOfOne32x32ImageIsTrainedOn() throws {
        let values = MobileNetV1.batchNormValuesPerImage(cropSides: AugmentationOptions.training.trainingCropSides)
        let loader = BatchLoader(dataset: Self.dataset(count: 17), configuration: .training(batchSize: 8, seed: 1, prefetch: 0,
                                                                                          batchNormValuesPerImage: values))
        #expect(loader.stepsPerEpoch == 3)
        #expect(loader.droppedForBatchNorm == 0)
        #expect(BatchLoaderTests.epoch(loader, 0).map { $0.shape.batch } == [8, 8, 1])
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = 8
        options.widthMultiplier = 1.0 / 32
        let model = MobileNetV1(numClasses: 10, widthMultiplier: options.widthMultiplier, seed: 1)
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: loader.stepsPerEpoch)
        let loop = TrainingLoop(session: session, trainLoader: loader, testLoader: nil)
        let (summary, completed) = try loop.runEpoch(0, onStep: { _ in })
        #expect(completed && summary.trainLoss.isFinite)
        #expect(session.globalStep == 3)
    }

    /// Under a 16×16 crop phase the last maps are 1×1: the batch of one is dropped and counted.
    @Test func lastBatchOfOneAt16x16IsDroppedAndCounted() {
        let schedule = AugmentationOptions(cropSchedule: CropSchedule(phases: [.init(size: 16, epochs: 1)]))
        let values = MobileNetV1.batchNormValuesPerImage(cropSides: schedule.trainingCropSides)
        let loader = BatchLoader(dataset: Self.dataset(count: 17), configuration: .training(batchSize: 8, seed: 1, prefetch: 0,
                                                                                          batchNormValuesPerImage: values))
        #expect(values == 1)
        #expect(loader.stepsPerEpoch == 2)
        #expect(loader.droppedForBatchNorm == 1)
    }
}
