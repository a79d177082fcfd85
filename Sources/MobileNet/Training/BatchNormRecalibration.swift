/// Recomputes every BatchNorm's running mean and variance over a fixed set of training
/// images, as `torch.optim.swa_utils.update_bn(loader, model)` (and PreciseBN, Wu &
/// Johnson 2021) do: each BatchNorm2d's running statistics are reset (mean 0, variance 1,
/// num_batches_tracked 0), its momentum set to None, and the model run in training mode
/// over the batches; with momentum=None the running statistics are the cumulative average
/// of the batches' statistics, batch k weighing 1/k: the equal-weight mean of the batches'
/// means and of their unbiased variances. Over one batch, exactly the per-channel mean and
/// unbiased variance of each layer's input over its images. The weights are untouched;
/// num_batches_tracked ends as the number of batches (as update_bn leaves it).
public enum BatchNormRecalibration {
    /// The images a run recalibrates on: the first `count` of the seeded permutation
    /// `EpochOrder.shuffled(count: train.count, seed: seed, epoch: epochs)` (an epoch index no
    /// training epoch uses, so a sample without replacement that depends on the seed alone),
    /// in that order; all of them when `count` ≥ the set's size.
    public static func sample(of train: some LabelledImages, count: Int, seed: UInt64, epochs: Int) -> RecalibrationImages {
        let order = EpochOrder.shuffled(count: train.count, seed: seed, epoch: epochs).prefix(count)
        let bytes = train.imageBytes
        var images: [UInt8] = []
        images.reserveCapacity(order.count * bytes)
        let source = train.images, labels = train.labels
        for index in order.map(Int.init) { images += source[index * bytes ..< (index + 1) * bytes] }
        return RecalibrationImages(images: images, labels: order.map { labels[Int($0)] },
                                   classNames: train.classNames, imageSide: train.imageSide)
    }

    /// The loader over `images`: batches of `batchSize` in order, with `augmentation`
    /// (a run's ``AugmentationOptions/forEvaluation``: no crop, no flip); a last batch of one
    /// image is left out where BatchNorm would see one value per channel (last maps 1×1), as
    /// PyTorch cannot train on it.
    public static func loader(_ images: RecalibrationImages, batchSize: Int, augmentation: AugmentationOptions) -> BatchLoader {
        let valuesPerImage = MobileNetV1.batchNormValuesPerImage(cropSides: [images.imageSide])
        return BatchLoader(dataset: images, configuration: BatchLoader.Configuration(
            batchSize: batchSize, shuffle: false, augmentation: augmentation, dropSingleImageBatch: true,
            batchNormValuesPerImage: valuesPerImage))
    }

    /// Recomputes `model`'s running statistics over every batch of `loader` (see the type).
    /// - Returns: the number of batches.
    @discardableResult
    public static func recalibrate(_ model: MobileNetV1, loader: BatchLoader) -> Int {
        let norms = model.namedLayers.compactMap { $0.layer as? BatchNorm2d }
        for norm in norms {
            norm.runningMean.zero()
            norm.runningVar.buffer.update(repeating: 1)
            norm.numBatchesTracked.value = 0
            norm.cumulativeAverage = true
        }
        defer { for norm in norms { norm.cumulativeAverage = false } }
        var batches = 0
        loader.start(epoch: 0)
        while let batch = loader.next() {
            _ = model.forward(batch.images, training: true)
            batches += 1
        }
        return batches
    }

    /// Recalibrates the session's model and, when it has one, its moving average (run
    /// through the session's model, whose activation buffers are reused; the trained weights
    /// are put back after, bit for bit: ``ExponentialMovingAverage/withAverage(in:_:)``).
    public static func recalibrate(_ session: TrainingSession, loader: BatchLoader) {
        recalibrate(session.model, loader: loader)
        session.ema?.withAverage(in: session.model) { recalibrate($0, loader: loader) }
    }
}

/// The training images a run recalibrates BatchNorm on (``BatchNormRecalibration/sample(of:count:seed:epochs:)``).
public struct RecalibrationImages: LabelledImages {
    public let images: [UInt8]
    public let labels: [Int32]
    public let classNames: [String]
    public let imageSide: Int
}
