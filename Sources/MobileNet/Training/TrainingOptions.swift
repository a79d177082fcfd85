/// Everything that defines a training run: the reference recipe by default (that of the
/// original PyTorch CIFAR-10 MobileNetV1 tutorial: OneCycleLR max 0.1, SGD momentum cycled
/// 0.95→0.85→0.95, weight decay 5e-4, batch 128, 60 epochs; ``Recipe/reference``). Saved in checkpoints so a resumed run can be
/// checked against the flags it is resumed with.
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// The ``Recipe`` these options started from ("reference", "fast", "fast-ls", "fast-lowres"); flags may change any value after it.
    public var recipe: String = Recipe.reference.rawValue
    public var epochs: Int = 60
    public var batchSize: Int = 128
    public var testBatchSize: Int = 100
    /// OneCycleLR's max_lr.
    public var maxLearningRate: Double = 0.1
    public var weightDecay: Double = 5e-4
    /// Parameter kinds that get no weight decay (MobileNets §4 advises none on depthwise filters).
    public var noWeightDecayKinds: [String] = []
    public var nesterov: Bool = false
    public var divFactor: Double = 25
    public var finalDivFactor: Double = 1e4
    public var pctStart: Double = 0.3
    public var baseMomentum: Double = 0.85
    public var maxMomentum: Double = 0.95
    public var labelSmoothing: Double = 0
    public var widthMultiplier: Double = 1.0
    public var numClasses: Int = 10
    public var seed: UInt64 = 0
    /// Use only the first N training / test images (quick runs); nil for all.
    public var limitTrain: Int? = nil
    public var limitTest: Int? = nil
    /// Drop the last partial training batch (PyTorch's drop_last); the reference recipe keeps it.
    public var dropLast: Bool = false
    /// Hold the last N training images out as a validation set (evaluated each epoch in
    /// place of the test set, and used to pick the best checkpoint); 0 for none. As Keras's
    /// `validation_split`, the held-out images are the last ones in file order, so every
    /// seed and recipe is compared on the same images.
    public var validationSplit: Int = 0
    /// The side S of the square images the network trains on, in pixels: CIFAR's 32, or the
    /// size an image folder's pictures are brought to at load time.
    public var imageSize: Int = 32
    /// `Normalize`'s per-channel (R, G, B) mean and std, of pixels scaled to [0, 1]; nil: the
    /// data's own (an image folder's computed from its training images, CIFAR's the
    /// reference recipe's (0.4914, 0.4822, 0.4465) and (0.2023, 0.1994, 0.2010)).
    public var mean: [Float]? = nil
    public var std: [Float]? = nil
    /// Training augmentation: zero padding before the random S×S crop (torchvision's
    /// `RandomCrop(32, padding: 4)` in the reference recipe; 0 disables the full-size crop, not the smaller
    /// ``cropSchedule`` ones) and the random horizontal flip (`RandomHorizontalFlip()`).
    public var cropPadding: Int = 4
    public var horizontalFlip: Bool = true
    /// Progressive resizing: smaller random crops for the first epochs (``CropSchedule``);
    /// ``CropSchedule/none`` (the reference recipe) trains on full-size crops throughout.
    public var cropSchedule: CropSchedule = .none
    /// Test-time augmentation of the test pass after a run with a validation set
    /// (``TrainingRun/testOnce()``); the per-epoch evaluations stay plain.
    public var testTimeAugmentation: TestTimeAugmentation = .none
    /// Data-parallel runs: BatchNorm statistics over the global batch (PyTorch's
    /// SyncBatchNorm) rather than each rank's shard; no effect in a single process.
    public var syncBatchNorm: Bool = false
    /// Exponential moving average of the weights and BatchNorm buffers
    /// (``ExponentialMovingAverage``): the decay D after warm-up, 0 for none; one update
    /// every ``emaEvery`` optimizer steps.
    public var emaDecay: Double = 0
    public var emaEvery: Int = 1
    /// Recompute every BatchNorm's running statistics at the end of the run over this many
    /// training images (``BatchNormRecalibration``); 0 for none.
    public var bnRecalibrate: Int = 0
    /// The transform the ``bnRecalibrate`` images go through: the evaluation one (PreciseBN's)
    /// or the training one at full size.
    public var bnRecalibrateTransform: RecalibrationTransform = .eval
    /// The learning-rate schedule (``TrainingSession/schedule(_:totalSteps:stepCount:)``);
    /// ``warmupPct`` and ``finalLearningRateFactor`` shape the linear one.
    public var schedule: ScheduleKind = .onecycle
    public var warmupPct: Double = 0.05
    public var finalLearningRateFactor: Double = 0
    /// How ``horizontalFlip`` flips: at random (p = 0.5, the reference recipe) or alternately.
    public var flipMode: FlipMode = .random
    /// Cutout's square side in pixels (``AugmentationOptions/cutout``), 0 for none.
    public var cutout: Int = 0
    /// The evaluation pass (validation set, else test set) runs after every N-th epoch and
    /// after the last; 0: after the last only (``TrainingLoop/evaluates(afterEpoch:)``).
    public var evalEvery: Int = 1

    public init() {}

    /// The training transforms these options ask for, with the reference recipe's CIFAR
    /// normalisation.
    public var trainingAugmentation: AugmentationOptions {
        trainingAugmentation(mean: AugmentationOptions.cifarMean, std: AugmentationOptions.cifarStd)
    }

    /// The training transforms these options ask for, normalising with `mean` and `std` (R, G, B).
    public func trainingAugmentation(mean: [Float], std: [Float]) -> AugmentationOptions {
        AugmentationOptions(imageSide: imageSize, cropPadding: cropPadding, horizontalFlip: horizontalFlip, cropSchedule: cropSchedule,
                            mean: mean, std: std).flipping(alternately: flipMode == .alternate).cuttingOut(cutout)
    }

    /// Decodes options saved by this or an earlier version: options added later
    /// (`recipe`, `validationSplit`, `imageSize`, `mean`, `std`, `cropPadding`, `horizontalFlip`, `cropSchedule`, `testTimeAugmentation`,
    /// `syncBatchNorm`, `emaDecay`, `emaEvery`, `bnRecalibrate`, `bnRecalibrateTransform`, `schedule`, `warmupPct`, `finalLearningRateFactor`, `flipMode`, `evalEvery`, `cutout`) take their defaults
    /// when absent, which is what those earlier runs did.
    /// - Throws: `DecodingError` for a missing or mistyped original option.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingOptions()
        // Options saved under a recipe's deprecated name carry its current one ("seed" → "reference").
        let savedRecipe = try c.decodeIfPresent(String.self, forKey: .recipe) ?? d.recipe
        recipe = Recipe(rawValue: savedRecipe)?.rawValue ?? savedRecipe
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        testBatchSize = try c.decode(Int.self, forKey: .testBatchSize)
        maxLearningRate = try c.decode(Double.self, forKey: .maxLearningRate)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        noWeightDecayKinds = try c.decode([String].self, forKey: .noWeightDecayKinds)
        nesterov = try c.decode(Bool.self, forKey: .nesterov)
        divFactor = try c.decode(Double.self, forKey: .divFactor)
        finalDivFactor = try c.decode(Double.self, forKey: .finalDivFactor)
        pctStart = try c.decode(Double.self, forKey: .pctStart)
        baseMomentum = try c.decode(Double.self, forKey: .baseMomentum)
        maxMomentum = try c.decode(Double.self, forKey: .maxMomentum)
        labelSmoothing = try c.decode(Double.self, forKey: .labelSmoothing)
        widthMultiplier = try c.decode(Double.self, forKey: .widthMultiplier)
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        seed = try c.decode(UInt64.self, forKey: .seed)
        limitTrain = try c.decodeIfPresent(Int.self, forKey: .limitTrain)
        limitTest = try c.decodeIfPresent(Int.self, forKey: .limitTest)
        dropLast = try c.decode(Bool.self, forKey: .dropLast)
        validationSplit = try c.decodeIfPresent(Int.self, forKey: .validationSplit) ?? d.validationSplit
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        mean = try c.decodeIfPresent([Float].self, forKey: .mean)
        std = try c.decodeIfPresent([Float].self, forKey: .std)
        cropPadding = try c.decodeIfPresent(Int.self, forKey: .cropPadding) ?? d.cropPadding
        horizontalFlip = try c.decodeIfPresent(Bool.self, forKey: .horizontalFlip) ?? d.horizontalFlip
        cropSchedule = try c.decodeIfPresent(CropSchedule.self, forKey: .cropSchedule) ?? d.cropSchedule
        testTimeAugmentation = try c.decodeIfPresent(TestTimeAugmentation.self, forKey: .testTimeAugmentation) ?? d.testTimeAugmentation
        syncBatchNorm = try c.decodeIfPresent(Bool.self, forKey: .syncBatchNorm) ?? d.syncBatchNorm
        emaDecay = try c.decodeIfPresent(Double.self, forKey: .emaDecay) ?? d.emaDecay
        emaEvery = try c.decodeIfPresent(Int.self, forKey: .emaEvery) ?? d.emaEvery
        bnRecalibrate = try c.decodeIfPresent(Int.self, forKey: .bnRecalibrate) ?? d.bnRecalibrate
        bnRecalibrateTransform = try c.decodeIfPresent(RecalibrationTransform.self, forKey: .bnRecalibrateTransform) ?? d.bnRecalibrateTransform
        schedule = try c.decodeIfPresent(ScheduleKind.self, forKey: .schedule) ?? d.schedule
        warmupPct = try c.decodeIfPresent(Double.self, forKey: .warmupPct) ?? d.warmupPct
        finalLearningRateFactor = try c.decodeIfPresent(Double.self, forKey: .finalLearningRateFactor) ?? d.finalLearningRateFactor
        flipMode = try c.decodeIfPresent(FlipMode.self, forKey: .flipMode) ?? d.flipMode
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery) ?? d.evalEvery
        cutout = try c.decodeIfPresent(Int.self, forKey: .cutout) ?? d.cutout
    }

    /// An invalid option: the flag's name and what is wrong with it, and the `--config` key
    /// that gave the value when the command line did not.
    public struct InvalidOption: Error, CustomStringConvertible, Equatable {
        public let flag: String
        public let message: String
        public var source: RunConfigKey? = nil
        public var description: String { source.map { "\($0.description) (\(flag)): \(message)" } ?? "\(flag): \(message)" }
    }

    /// Checks every value's range, with the checks of ``RunOption/all`` in its order.
    /// - Throws: ``InvalidOption`` naming the first bad flag.
    public func validate() throws {
        for option in RunOption.all {
            if let problem = option.problem(in: self) { throw problem }
        }
    }
}

/// A named starting point for ``TrainingOptions``: hyperparameters, schedule and
/// augmentation for MobileNetV1 at α = 1 (the network never changes). Flags given after
/// a recipe override its values.
public enum Recipe: String, CaseIterable, Codable, Sendable {
    /// The recipe of the original PyTorch CIFAR-10 MobileNetV1 tutorial, exactly: 60 epochs,
    /// batch 128, OneCycleLR max lr 0.1 (30 % warm-up, cosine, momentum 0.95 → 0.85 → 0.95),
    /// SGD weight decay 5e-4 on every parameter, plain momentum, no label smoothing, crop
    /// (padding 4) + flip, normalisation with that tutorial's CIFAR-10 mean and std.
    /// `seed`, its former name, is still accepted (``init(rawValue:)``).
    case reference
    /// The reference recipe fitted to an hour on two cores: its OneCycleLR schedule over 42
    /// epochs, the first 22 on 24×24 crops (progressive resizing, ``CropSchedule``; a 24×24
    /// step costs about 0.6 of a 32×32 one), everything else as ``reference``. Chosen on
    /// validation accuracy (last 5,000 training images held out): 87.98 % in 58 minutes,
    /// against 87.18 % for the reference recipe over 30 epochs at 32×32 (51.5 minutes) and
    /// 86.42 % for those 30 epochs with Nesterov momentum, label smoothing 0.1 and no weight
    /// decay on BatchNorm parameters and depthwise filters (Howard et al. 2017, §4) added;
    /// those stay available as flags.
    case fast
    /// ``fast`` with label smoothing 0.1: of the changes to ``fast``'s training at its 42 epochs
    /// (EMA of the weights, BatchNorm recalibration, the linear schedule, cutout, label
    /// smoothing), the only one ahead of it on validation with both seeds, plain and with
    /// flip-shift test-time augmentation (`evaluate --tta flip-shift`: 89.07 % mean against 88.87 %; plain 87.99 %
    /// against 87.64 %; docs/results.md).
    case fastLS = "fast-ls"
    /// ``fast`` with 8 epochs of 16×16 crops in front of its 24×24 ones: 50 epochs, 8 at
    /// 16×16, 22 at 24×24, 20 at 32×32, within the same budget of 36 full-size epochs (a 16×16
    /// epoch counted as 0.25 of a 32×32 one, as measured, and a 24×24 one as 0.62: about 35.6).
    /// Ahead of ``fast`` on validation with both seeds, plain and with flip-shift test-time
    /// augmentation (89.44 % mean against 88.87 %; plain 87.98 % against 87.64 %;
    /// docs/results.md).
    case fastLowres = "fast-lowres"

    /// The recipe named `rawValue`; `seed`, the reference recipe's former name, is accepted
    /// as an alias so older scripts and checkpoints keep working.
    public init?(rawValue: String) {
        switch rawValue {
        case "reference", "seed": self = .reference
        case "fast": self = .fast
        case "fast-ls": self = .fastLS
        case "fast-lowres": self = .fastLowres
        default: return nil
        }
    }

    /// The options this recipe stands for.
    public var options: TrainingOptions {
        var o = TrainingOptions()
        switch self {
        case .reference:
            break
        case .fast:
            o.epochs = 42
            o.cropSchedule = CropSchedule(phases: [.init(size: 24, epochs: 22)])
        case .fastLS:
            o = Recipe.fast.options
            o.labelSmoothing = 0.1
        case .fastLowres:
            o = Recipe.fast.options
            o.epochs = 50
            o.cropSchedule = CropSchedule(phases: [.init(size: 16, epochs: 8), .init(size: 24, epochs: 22)])
        }
        o.recipe = rawValue
        return o
    }
}

/// The learning-rate schedule a run follows.
public enum ScheduleKind: String, Codable, CaseIterable, Sendable {
    /// OneCycleLR, the reference recipe's (``OneCycleLR``).
    case onecycle
    /// Linear warm-up, then linear decay (``LinearWarmupLR``).
    case linear
}

/// How the training flip is chosen (``TrainingOptions/flipMode``).
public enum FlipMode: String, Codable, CaseIterable, Sendable {
    /// Each image flipped with probability 0.5 every epoch (RandomHorizontalFlip).
    case random
    /// Epoch 0 at random, then every image flipped on alternate epochs (``CropFlip/alternateFlip(seed:epoch:index:options:)``).
    case alternate
}
