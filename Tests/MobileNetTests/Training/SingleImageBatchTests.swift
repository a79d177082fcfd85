import Testing
@testable import MobileNet

/// A last training batch of one image would stop BatchNorm2d (one value per channel);
/// the training loader drops it and counts its steps without it.
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
}
