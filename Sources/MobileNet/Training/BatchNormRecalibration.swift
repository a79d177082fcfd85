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

    /// The transform of the recalibration images for a run whose training transform is
    /// `training`: ``AugmentationOptions/forEvaluation`` for ``RecalibrationTransform/eval``;
    /// for ``RecalibrationTransform/train``, `training` at full size (no crop schedule: the
    /// random crop of the last epochs, with its zero padding) and with the random flip
    /// (p = 0.5) when it flips at all, alternately or not; without cutout, which evaluation
    /// never sees.
    public static func augmentation(_ transform: RecalibrationTransform, training: AugmentationOptions) -> AugmentationOptions {
        switch transform {
        case .eval:
            return training.forEvaluation
        case .train:
            var full = training.flipping(alternately: false)
            full.cropSchedule = .none
            full.cutout = 0
            return full
        }
    }

    /// The loader over `images`: batches of `batchSize` in order, with `augmentation`
    /// (``augmentation(_:training:)``), random crops and flips drawn from `seed` as the
    /// training loader draws them for epoch 0; a last batch of one image is left out where
    /// BatchNorm would see one value per channel (last maps 1×1), as PyTorch cannot train on it.
    public static func loader(_ images: RecalibrationImages, batchSize: Int, augmentation: AugmentationOptions, seed: UInt64 = 0) -> BatchLoader {
        let valuesPerImage = MobileNetV1.batchNormValuesPerImage(cropSides: [images.imageSide])
        return BatchLoader(dataset: images, configuration: BatchLoader.Configuration(
            batchSize: batchSize, shuffle: false, augmentation: augmentation, dropSingleImageBatch: true, seed: seed,
            batchNormValuesPerImage: valuesPerImage))
    }

    /// The loader a run with `options` recalibrates with (`--bn-recalibrate`,
    /// `--bn-recalibrate-transform`) over its training images `train` (the held-out
    /// validation images excluded), normalised with `mean` and `std`: the sample of
    /// ``sample(of:count:seed:epochs:)`` with the run's seed and epochs, in batches of its
    /// batch size, the crops and flips drawn from its seed. nil when `options.bnRecalibrate` is 0.
    /// `train` and `evaluate --bn-recalibrate` both use it, so they recompute the same statistics.
    public static func loader(for options: TrainingOptions, train: some LabelledImages, mean: [Float], std: [Float]) -> BatchLoader? {
        guard options.bnRecalibrate > 0 else { return nil }
        let augmentation = augmentation(options.bnRecalibrateTransform, training: options.trainingAugmentation(mean: mean, std: std))
        return loader(sample(of: train, count: options.bnRecalibrate, seed: options.seed, epochs: options.epochs),
                      batchSize: options.batchSize, augmentation: augmentation, seed: options.seed)
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

/// The transform of the images BatchNorm is recalibrated on (``TrainingOptions/bnRecalibrateTransform``).
public enum RecalibrationTransform: String, Codable, CaseIterable, Sendable {
    /// Normalise only: the statistics of whole images as evaluation sees them (PreciseBN, update_bn over a test-style loader).
    case eval
    /// The run's training transform at full size: random crop with zero padding, random flip, normalise.
    case train

    /// What the transform does, for the lines `train` and `evaluate` print.
    public var summary: String {
        switch self {
        case .eval: "no augmentation"
        case .train: "the training transform at full size: random crop and flip"
        }
    }
}

/// The training images a run recalibrates BatchNorm on (``BatchNormRecalibration/sample(of:count:seed:epochs:)``).
public struct RecalibrationImages: LabelledImages {
    public let images: [UInt8]
    public let labels: [Int32]
    public let classNames: [String]
    public let imageSide: Int
}
