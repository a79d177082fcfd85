/// Iterates a data set (a CIFAR split, an image folder's images) in batches in the engine layout, like PyTorch's
/// `DataLoader(dataset, batch_size: B, shuffle: …, drop_last: …)` over the reference recipe's transforms.
///
/// ```swift
/// let loader = BatchLoader(dataset: train, configuration: .training(seed: 1))
/// for epoch in 0..<epochs {
///     loader.start(epoch: epoch)              // or start(epoch:step:) to resume mid-epoch
///     while let batch = loader.next() { model.step(batch.images, batch.labels) }
/// }
/// ```
///
/// Every batch is a pure function of (seed, epoch, step): the order is
/// ``EpochOrder/shuffle(_:seed:epoch:)`` and each image's crop and flip come from
/// (seed, epoch, dataset index). Prefetching, thread count and resuming change nothing.
///
/// **Lifetime rule:** a ``Batch`` (its feature map and buffers) is valid until the next call
/// to ``next()``, ``start(epoch:step:)`` or ``stop()`` on this loader; after that its memory is
/// recycled for a later batch. Copy what must outlive it.
///
/// With `prefetch > 0`, batches are prepared on one background Foundation thread while the
/// caller trains on the previous one, into `prefetch + 1` buffers allocated once. Nothing is
/// allocated per batch; each epoch starts one thread (and ends it before the next starts).
/// ``stop()`` (or releasing the loader) ends the thread promptly, even mid-epoch.
/// Use the loader from one thread at a time.
public final class BatchLoader {
    /// How batches are drawn and transformed.
    public struct Configuration: Sendable {
        /// Images per batch, B.
        public var batchSize: Int
        /// Visit images in a fresh (seed, epoch) permutation each epoch (training); else in order.
        public var shuffle: Bool
        /// Crop, flip and normalisation (``AugmentationOptions/evaluation`` for normalise only).
        public var augmentation: AugmentationOptions
        /// Drop the last batch when it is smaller than B (PyTorch's `drop_last`).
        public var dropLast: Bool
        /// Drop the last batch, even without `dropLast`, when it would give a BatchNorm2d one
        /// value per channel: N mod B images × ``batchNormValuesPerImage`` ≤ 1, i.e. a single
        /// image whose smallest maps are 1×1 (a 16×16 crop). BatchNorm2d in training mode
        /// cannot normalise one value per channel (PyTorch stops with "Expected more than 1
        /// value per channel when training"); where it sees more (a single 32×32 image gives
        /// 2×2 last maps, 4 values) PyTorch trains on the batch, and so does this loader.
        /// A dropped image is skipped for the epoch; the shuffled order skips a different one
        /// each epoch. ``BatchLoader/stepsPerEpoch`` counts without that batch, so the
        /// OneCycleLR schedule spans exactly the steps taken.
        public var dropSingleImageBatch: Bool
        /// Values per channel one image gives the smallest BatchNorm2d map (H×W of the last
        /// maps: 4 for MobileNetV1 on 32×32, 1 at 16×16 or less, see ``MobileNetV1/batchNormValuesPerImage(cropSides:)``);
        /// 1 assumes 1×1 maps, so a last batch of one image is dropped.
        public var batchNormValuesPerImage: Int
        /// Seeds the epoch order and the per-image augmentation.
        public var seed: UInt64
        /// Batches prepared ahead on the background thread (`prefetch + 1` buffers);
        /// 0 prepares each batch inside ``BatchLoader/next()`` on the caller's thread.
        public var prefetch: Int
        /// The part of every batch this process takes (data-parallel training); `batchSize`
        /// stays the global batch. ``BatchShard/whole`` in one process.
        public var shard: BatchShard
        /// With ``dropSingleImageBatch`` and more than one shard: the last batch is also
        /// dropped when its smallest shard would hold fewer images than this (2 when each
        /// rank's BatchNorm normalises its own shard, 1 with synchronised BatchNorm).
        public var minimumShardImages: Int

        public init(batchSize: Int, shuffle: Bool, augmentation: AugmentationOptions,
                    dropLast: Bool = false, dropSingleImageBatch: Bool = false, seed: UInt64 = 0, prefetch: Int = 1,
                    shard: BatchShard = .whole, minimumShardImages: Int = 1, batchNormValuesPerImage: Int = 1) {
            self.batchSize = batchSize
            self.batchNormValuesPerImage = batchNormValuesPerImage
            self.shuffle = shuffle
            self.augmentation = augmentation
            self.dropLast = dropLast
            self.dropSingleImageBatch = dropSingleImageBatch
            self.seed = seed
            self.prefetch = prefetch
            self.shard = shard
            self.minimumShardImages = minimumShardImages
        }

        /// The reference recipe's training loader: batch 128, shuffled, crop + flip + normalise (or
        /// `augmentation`'s transforms), last
        /// partial batch kept (50,000 = 390 · 128 + 80) unless BatchNorm would see one value
        /// per channel in it (see ``dropSingleImageBatch``).
        public static func training(batchSize: Int = 128, seed: UInt64, dropLast: Bool = false,
                                    augmentation: AugmentationOptions = .training,
                                    prefetch: Int = 1, shard: BatchShard = .whole, minimumShardImages: Int = 1,
                                    batchNormValuesPerImage: Int = 1) -> Configuration {
            Configuration(batchSize: batchSize, shuffle: true, augmentation: augmentation,
                          dropLast: dropLast, dropSingleImageBatch: true, seed: seed, prefetch: prefetch,
                          shard: shard, minimumShardImages: minimumShardImages, batchNormValuesPerImage: batchNormValuesPerImage)
        }

        /// The reference recipe's test loader: batch 100, in order, normalise only (with the
        /// recipe's CIFAR mean and std at 32×32, or `augmentation`'s, e.g. a training
        /// augmentation's ``AugmentationOptions/forEvaluation``). A shard may be
        /// empty (a last batch smaller than the number of ranks); evaluation skips it.
        public static func evaluation(batchSize: Int = 100, prefetch: Int = 1, shard: BatchShard = .whole,
                                      augmentation: AugmentationOptions = .evaluation) -> Configuration {
            Configuration(batchSize: batchSize, shuffle: false, augmentation: augmentation, prefetch: prefetch, shard: shard)
        }
    }

    /// One batch, valid until the loader's next call (see the lifetime rule above).
    public struct Batch {
        /// [3, S, S, size] in the engine layout C × H × W × N, normalised (and augmented); S
        /// the epoch's crop size (the data set's side L without a crop schedule).
        public let images: FeatureMap
        /// The class of each image, `size` values.
        public let labels: UnsafeBufferPointer<Int32>
        /// The dataset position of each image, `size` values.
        public let indices: UnsafeBufferPointer<Int32>
        public let epoch: Int
        /// 0-based step within the epoch.
        public let step: Int
        /// Images in this batch (this rank's shard): B, or fewer for the last one.
        public var size: Int { labels.count }
        /// Images in the global batch this is a shard of (``size`` in one process).
        public let globalSize: Int
    }

    public let configuration: Configuration
    /// Images in the data set, N.
    public let datasetCount: Int
    /// Batches per epoch: ⌈N / B⌉, or ⌊N / B⌋ with `dropLast`, or with
    /// `dropSingleImageBatch` when (N mod B) × `batchNormValuesPerImage` ≤ 1 and B > 1 (or a
    /// shard of the last batch would hold fewer than `minimumShardImages`).
    public let stepsPerEpoch: Int
    /// Images of the last partial batch dropped each epoch because BatchNorm2d could not
    /// train on it (``Configuration/dropSingleImageBatch``); 0 when it is kept or with `dropLast`.
    public let droppedForBatchNorm: Int

    private let plan: EpochPlan
    private var prefetcher: BatchPrefetcher?
    private var holding = false
    private var started = false
    private var nextStep = 0

    /// - Precondition: `batchSize >= 1`, `0 <= prefetch <= 3`, the augmentation's
    ///   ``AugmentationOptions/imageSide`` equal to the data set's.
    public init(dataset: some LabelledImages, configuration: Configuration) {
        precondition(configuration.batchSize >= 1, "batchSize must be ≥ 1, got \(configuration.batchSize)")
        precondition((0...3).contains(configuration.prefetch), "prefetch must be in 0...3, got \(configuration.prefetch)")
        self.configuration = configuration
        self.datasetCount = dataset.count
        let batchSize = configuration.batchSize
        let remainder = dataset.count % batchSize
        let shards = configuration.shard.count
        let shardTooSmall = shards > 1 && remainder / shards < configuration.minimumShardImages
        let tooFewValues = remainder * max(1, configuration.batchNormValuesPerImage) <= 1
        let dropsForBatchNorm = configuration.dropSingleImageBatch && batchSize > 1 && remainder > 0 && (tooFewValues || shardTooSmall)
        let dropsRemainder = configuration.dropLast || dropsForBatchNorm
        self.droppedForBatchNorm = dropsForBatchNorm && !configuration.dropLast ? remainder : 0
        self.stepsPerEpoch = dataset.count / batchSize + (remainder > 0 && !dropsRemainder ? 1 : 0)
        let assembler = BatchAssembler(dataset: dataset, options: configuration.augmentation, seed: configuration.seed)
        self.plan = EpochPlan(assembler: assembler, batchSize: batchSize, shard: configuration.shard,
                              slotCount: configuration.prefetch + 1)
    }

    deinit { stop() }

    /// Begins `epoch` at `step` (0 for a fresh epoch; k resumes with the batches steps k…
    /// of the full epoch would give). Stops any epoch still running.
    /// - Precondition: `epoch >= 0`, `0 <= step <= stepsPerEpoch`.
    public func start(epoch: Int, step: Int = 0) {
        precondition(epoch >= 0, "epoch must be ≥ 0, got \(epoch)")
        precondition((0...stepsPerEpoch).contains(step), "step must be in 0...\(stepsPerEpoch), got \(step)")
        stop()
        if configuration.shuffle { EpochOrder.shuffle(&plan.order, seed: configuration.seed, epoch: epoch) }
        plan.epoch = epoch
        nextStep = step
        started = true
        if configuration.prefetch > 0 && step < stepsPerEpoch {
            prefetcher = BatchPrefetcher(plan: plan, steps: step..<stepsPerEpoch)
        }
    }

    /// The next batch of the epoch, or nil when the epoch is over. Recycles the batch
    /// returned by the previous call.
    /// - Precondition: ``start(epoch:step:)`` was called.
    public func next() -> Batch? {
        precondition(started, "call start(epoch:step:) before next()")
        if holding {
            prefetcher?.recycle()
            holding = false
        }
        guard nextStep < stepsPerEpoch else {
            stop()
            return nil
        }
        let slot: BatchSlot
        if let prefetcher {
            slot = prefetcher.take()
        } else {
            slot = plan.slots[0]
            plan.fill(slot, step: nextStep)
        }
        precondition(slot.step == nextStep, "prefetched step \(slot.step), expected \(nextStep)")
        nextStep += 1
        holding = true
        return Batch(images: slot.images,
                     labels: UnsafeBufferPointer(start: slot.labels, count: slot.size),
                     indices: UnsafeBufferPointer(start: slot.indices, count: slot.size),
                     epoch: plan.epoch, step: slot.step, globalSize: slot.globalSize)
    }

    /// Ends the current epoch early: stops and joins the background thread. Idempotent;
    /// ``next()`` then returns nil until the next ``start(epoch:step:)``.
    public func stop() {
        prefetcher?.join()
        prefetcher = nil
        holding = false
        nextStep = stepsPerEpoch
    }

    /// True while a background thread exists for the current epoch (tests).
    var isPrefetching: Bool { prefetcher != nil }
}
