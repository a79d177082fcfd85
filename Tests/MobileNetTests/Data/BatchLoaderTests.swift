import Testing
@testable import MobileNet

@Suite struct BatchLoaderTests {
    /// 23 random images: with batch 5, four full batches and a partial one of 3.
    static let dataset: CIFARDataset = {
        let split = CIFARFixture.split(count: 23, classes: 10, seed: 11)
        return CIFARDataset(dataset: .cifar10, split: .train, images: split.images, labels: split.labels,
                            classNames: CIFARFixture.cifar10Names)
    }()

    /// A copy of one batch (the loader recycles its buffers).
    struct Copied: Equatable {
        var step: Int
        var shape: FeatureShape
        var images: [Float]
        var labels: [Int32]
        var indices: [Int32]
    }

    static func epoch(_ loader: BatchLoader, _ epoch: Int, from step: Int = 0) -> [Copied] {
        loader.start(epoch: epoch, step: step)
        var batches: [Copied] = []
        while let batch = loader.next() {
            batches.append(Copied(step: batch.step, shape: batch.images.shape, images: Array(batch.images.buffer),
                                  labels: Array(batch.labels), indices: Array(batch.indices)))
        }
        return batches
    }

    static func training(prefetch: Int, batchSize: Int = 5, dropLast: Bool = false) -> BatchLoader {
        BatchLoader(dataset: dataset, configuration: .training(batchSize: batchSize, seed: 77, dropLast: dropLast, prefetch: prefetch))
    }

    @Test func everyImageOncePerEpochIncludingThePartialLastBatch() {
        let loader = Self.training(prefetch: 1)
        #expect(loader.stepsPerEpoch == 5)
        for epoch in 0..<2 {
            let batches = Self.epoch(loader, epoch)
            #expect(batches.map(\.step) == [0, 1, 2, 3, 4])
            #expect(batches.map { $0.shape.batch } == [5, 5, 5, 5, 3])
            #expect(batches.map { $0.labels.count } == [5, 5, 5, 5, 3])
            let indices = batches.flatMap(\.indices)
            #expect(indices.sorted() == Array(0..<23))
            #expect(batches.flatMap(\.labels) == indices.map { Self.dataset.labels[Int($0)] })
        }
        // Shuffled: epochs 0 and 1 visit the images in different orders.
        #expect(Self.epoch(loader, 0).flatMap(\.indices) != Self.epoch(loader, 1).flatMap(\.indices))
    }

    @Test func dropLastSkipsThePartialBatch() {
        let loader = Self.training(prefetch: 0, dropLast: true)
        #expect(loader.stepsPerEpoch == 4)
        let batches = Self.epoch(loader, 0)
        #expect(batches.map { $0.shape.batch } == [5, 5, 5, 5])
        #expect(Set(batches.flatMap(\.indices)).count == 20)
        // PyTorch's count for the reference recipe: 50,000 = 390 · 128 + 80.
        #expect(Self.training(prefetch: 0, batchSize: 4).stepsPerEpoch == 6)
        #expect(Self.training(prefetch: 0, batchSize: 4, dropLast: true).stepsPerEpoch == 5)
    }

    @Test func prefetchingEqualsSynchronousBitForBit() {
        // Same code path on another thread: results must be identical, so == is the right check.
        let synchronous = (0..<2).map { Self.epoch(Self.training(prefetch: 0), $0) }
        for prefetch in 1...3 {
            let loader = Self.training(prefetch: prefetch)
            #expect((0..<2).map { Self.epoch(loader, $0) } == synchronous, "prefetch \(prefetch)")
        }
    }

    @Test func startingAtStepKGivesStepsKOnOfTheFullEpoch() {
        let loader = Self.training(prefetch: 2)
        let full = Self.epoch(loader, 3)
        for k in [1, 4, 5] {
            #expect(Self.epoch(loader, 3, from: k) == Array(full[k...]), "resume at step \(k)")
        }
        #expect(Self.epoch(Self.training(prefetch: 0), 3, from: 2) == Array(full[2...]))
    }

    @Test func trainingBatchHoldsEachImageTransformedByItsOwnDraw() {
        let loader = Self.training(prefetch: 0)
        let batch = Self.epoch(loader, 2)[1]
        #expect(batch.indices == Array(EpochOrder.shuffled(count: 23, seed: 77, epoch: 2)[5..<10]))
        let transform = ImageTransform(options: .training)
        let single = FeatureMap(shape: FeatureShape(channels: 3, height: 32, width: 32, batch: 1))
        for (n, index) in batch.indices.enumerated() {
            let choice = CropFlip.draw(seed: 77, epoch: 2, index: Int(index), options: .training)
            Self.dataset.images.withUnsafeBufferPointer {
                transform.apply($0.baseAddress! + Int(index) * 3072, choice, into: single.data, slot: 0, batch: 1)
            }
            // Column n of the C × H × W × 5 batch.
            let column = (0..<3072).map { batch.images[$0 * 5 + n] }
            expectAllClose(column, Array(single.buffer), "image \(index)")
        }
    }

    @Test func evaluationLoaderKeepsOrderAndOnlyNormalises() {
        let loader = BatchLoader(dataset: Self.dataset, configuration: .evaluation(batchSize: 10))
        let batches = Self.epoch(loader, 0)
        #expect(batches.flatMap(\.indices) == Array(0..<23))
        #expect(batches.map { $0.shape.batch } == [10, 10, 3])
        let transform = ImageTransform(options: .evaluation)
        // Image 21 is slot 1 of the last batch (of 3): element (1, c, y, x) at ((c·32 + y)·32 + x)·3 + 1.
        let last = batches[2].images
        let expected = (0..<3072).map { transform.normalised(Self.dataset.images[21 * 3072 + $0], channel: $0 / 1024) }
        expectAllClose((0..<3072).map { last[$0 * 3 + 1] }, expected)
    }

    @Test(.timeLimit(.minutes(1)))
    func stoppingEarlyOrReleasingTheLoaderEndsTheThread() {
        let loader = Self.training(prefetch: 2, batchSize: 2)
        loader.start(epoch: 0)
        #expect(loader.next()?.step == 0)
        #expect(loader.isPrefetching)
        loader.stop()
        #expect(!loader.isPrefetching)
        #expect(loader.next() == nil)
        // Restarting while a thread runs replaces it; the epoch starts over.
        loader.start(epoch: 1)
        _ = loader.next()
        loader.start(epoch: 1)
        #expect(loader.next()?.step == 0)
        // Running to the end joins the thread as well.
        while loader.next() != nil {}
        #expect(!loader.isPrefetching)
        // A loader dropped mid-epoch, with the producer blocked on full buffers, is joined by deinit.
        do {
            let dropped = Self.training(prefetch: 3, batchSize: 1)
            dropped.start(epoch: 0)
            _ = dropped.next()
        }
    }
}
