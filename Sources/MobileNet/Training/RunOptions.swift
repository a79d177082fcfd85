import Foundation

/// One option of a training run, as the one table ``RunOption/all`` lists it: the flag
/// `train` takes, the ``TrainingOptions`` property it sets (its key in the checkpoint's
/// options JSON), the help text with its default, the range check, what must be on for it
/// to have an effect, and what a resume may do with it. The command line (`mobilenet-train
/// train`), ``TrainingOptions/validate()`` and the resume check
/// (``TrainingOptions/differences(from:)``) all read this table, so a flag's name, default
/// and rule are written once.
///
/// Adding an option: a stored property of ``TrainingOptions`` (decoded with
/// `decodeIfPresent … ?? default` so older checkpoints load), one entry below (a
/// `static let` and a place in ``all``), and in `TrainCommand` one `@Option` that takes its
/// name and help from the entry plus one line in its `overrides` list. `RunOptionTests`
/// fails until the table, the properties and the command line agree.
public struct RunOption: @unchecked Sendable {  // @unchecked: the key path is an immutable value without captures
    /// What a resumed run (`train --resume`) does with this option.
    public enum ResumeRule: Equatable, Sendable {
        /// Recorded in the checkpoint's ``TrainingOptions``; a flag given with another value
        /// is refused (``CheckpointError/optionConflict(path:flag:given:checkpoint:)``), a flag
        /// left out takes the checkpoint's value.
        case recorded
        /// Checked against the data set the checkpoint recorded (``CheckpointDataset``).
        case checkedAgainstData
        /// Not part of the run's result; a resume may give any value.
        case free
    }

    /// The long flag without dashes: "batch-size".
    public let name: String
    /// True for an on/off flag with a `--no-` form (`--flip/--no-flip`).
    public let hasInversion: Bool
    /// False for an option set from the data rather than typed (the class count).
    public let isCommandLine: Bool
    /// The ``TrainingOptions`` property this option sets (also its key in the checkpoint's
    /// options JSON); nil for an option not recorded there.
    public let property: String?
    let keyPath: PartialKeyPath<TrainingOptions>?
    /// The help text, ending with the default when it has one to show.
    public let help: String
    /// The placeholder in the usage (`--no-weight-decay-on <kind> …`); nil: the flag's name.
    public let valueName: String?
    public let resume: ResumeRule
    /// The range check: a message saying what is wrong (without the flag), nil when fine.
    let check: (@Sendable (TrainingOptions) -> String?)?
    /// What must be on for this option to have an effect (--warmup-pct: --schedule linear);
    /// nil when it always has one.
    public let requirement: Requirement?

    /// Another option's value that an option only shapes: --schedule linear for --warmup-pct.
    /// A request that gives the option without it is refused (``TrainingRunRequest/validate()``).
    public struct Requirement: @unchecked Sendable {  // @unchecked: an immutable closure over no state
        /// The other option as a user turns it on: "--schedule linear".
        public let flags: String
        let isMet: @Sendable (TrainingOptions) -> Bool

        /// `option` given (on the command line, or at `source` in a `--config` file) without ``flags``.
        func problem(giving option: RunOption, at source: RunConfigKey?) -> TrainingOptions.InvalidOption {
            let given = source.map { "\"\($0.key)\" from the file" } ?? option.flag
            return TrainingOptions.InvalidOption(flag: option.flag, message: "applies only with \(flags); give \(flags) or drop \(given)", source: source)
        }
    }

    /// The flag as a user types it: "--batch-size", "--flip/--no-flip".
    public var flag: String { hasInversion ? "--\(name)/--no-\(name)" : "--\(name)" }

    /// The problem with `options`' value of this option, nil when it is in range.
    public func problem(in options: TrainingOptions) -> TrainingOptions.InvalidOption? {
        check?(options).map { TrainingOptions.InvalidOption(flag: flag, message: $0) }
    }

    /// An option recorded in ``TrainingOptions``. `help` is completed with
    /// " (default X)." where X is the value in `TrainingOptions()` (`shownDefault` overrides
    /// the text; "" shows none).
    static func recorded<Value>(_ name: String, _ keyPath: KeyPath<TrainingOptions, Value>, property: String,
                                help: String, shownDefault: String? = nil, valueName: String? = nil,
                                hasInversion: Bool = false, isCommandLine: Bool = true, requirement: Requirement? = nil,
                                check: (@Sendable (TrainingOptions) -> String?)? = nil) -> RunOption {
        let defaultText = shownDefault ?? TrainingOptions.text(TrainingOptions()[keyPath: keyPath])
        return RunOption(name: name, hasInversion: hasInversion, isCommandLine: isCommandLine, property: property, keyPath: keyPath,
                         help: help + (defaultText.isEmpty ? "." : " (default \(defaultText))."),
                         valueName: valueName, resume: .recorded, check: check, requirement: requirement)
    }

    /// An option of the command that is not part of ``TrainingOptions``.
    static func commandLine(_ name: String, help: String, resume: ResumeRule) -> RunOption {
        RunOption(name: name, hasInversion: false, isCommandLine: true, property: nil, keyPath: nil, help: help,
                  valueName: nil, resume: resume, check: nil, requirement: nil)
    }
}

// MARK: - The table

extension RunOption {
    /// Every option, in the order ``TrainingOptions/validate()`` checks them (an option's
    /// own range before the checks that involve another option: --tta needs --val-split,
    /// --crop-schedule fits in --epochs), then those not recorded in ``TrainingOptions``.
    public static let all: [RunOption] = [
        epochs, batchSize, testBatchSize, maxLearningRate, weightDecay, divFactor, finalDivFactor, pctStart, baseMomentum,
        maxMomentum, labelSmoothing, widthMultiplier, numClasses, limitTrain, limitTest, validationSplit, testTimeAugmentation,
        imageSize, mean, std, cropPadding, cropSchedule, recipe, noWeightDecayOn, flip, nesterov, seed, dropLast, syncBatchNorm,
        emaDecay, emaEvery, bnRecalibrate, bnRecalibrateTransform, schedule, warmupPct, finalLearningRateFactor, flipMode, cutout, evalEvery,
        config, data, dataset, coarseLabels, maxMemory, threads, metrics, checkpointDir, resumeFrom, distributed, collectiveTimeout,
    ]

    /// The entry whose ``property`` is `property` (a ``TrainingOptions`` property name).
    public static func entry(forProperty property: String) -> RunOption? {
        all.first { $0.property == property }
    }

    /// The folder `train` reads when neither --data nor a checkpoint names one.
    public static let defaultDataPath = "data/cifar-10-batches-bin"

    public static let data = commandLine("data", help: "CIFAR folder (holding data_batch_1.bin … or train.bin …), or its parent; or an image folder: DIR/train/<class>/*.png|jpg|jpeg with DIR/val/<class>/… (or test/), or DIR/<class>/… with --val-split (default \(defaultDataPath); when resuming, the checkpoint's).", resume: .checkedAgainstData)
    public static let dataset = commandLine("dataset", help: "cifar10 or cifar100; recognised from the files when omitted.", resume: .checkedAgainstData)
    public static let coarseLabels = commandLine("coarse-labels", help: "CIFAR-100: train on the 20 coarse superclasses instead of the 100 fine labels.", resume: .checkedAgainstData)

    /// The memory an image folder's decoded images may take when --max-memory is not given:
    /// half of this machine's physical memory.
    public static var defaultMaxMemory: Int { Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max))) }
    public static let maxMemory = commandLine(
        "max-memory", help: "Image folders: the most memory the decoded images may take (3·S² bytes each at --image-size S, kept as bytes); a folder that needs more is refused before decoding. 512M, 4G, … (binary units) (default half the physical memory, \(MemorySize.text(defaultMaxMemory)) here).",
        resume: .free)

    public static let recipe = recorded(
        "recipe", \.recipe, property: "recipe",
        help: "Start from a named recipe, then apply the other flags: reference (the recipe of the original PyTorch CIFAR-10 tutorial, the default; 'seed' is accepted for it too), fast (the reference recipe over 42 epochs, the first 22 on 24×24 crops, fitted to an hour on two cores; with --epochs, the crop phases keep their share of the run), fast-ls (fast with --label-smoothing 0.1; evaluate it with --tta flip-shift) or fast-lowres (fast with 8 epochs of 16×16 crops in front, 50 epochs in all within the same budget; evaluate it with --tta flip-shift)",
        shownDefault: "") { o in
            Recipe(rawValue: o.recipe) == nil ? "unknown recipe '\(o.recipe)'; use \(Recipe.allCases.map(\.rawValue).joined(separator: ", "))" : nil
        }
    public static let validationSplit = recorded(
        "val-split", \.validationSplit, property: "validationSplit",
        help: "Hold out the last N training images (an image folder: N spread evenly over its class-by-class listing, so every class keeps its share) as a validation set: evaluated each epoch (each --eval-every epochs) in place of the test set and used to pick best.safetensors; the test set is then evaluated once, after the run") { o in
            o.validationSplit >= 0 ? nil : "must be zero or positive, got \(o.validationSplit)"
        }
    /// The sides --image-size accepts: from 8 (MobileNetV1's last maps 1×1) to 1024.
    public static let imageSizes = 8...1024
    public static let imageSize = recorded(
        "image-size", \.imageSize, property: "imageSize",
        help: "Side S in pixels of the square images trained on: an image folder's pictures are resized (shorter side to S, bilinear with antialiasing) and centre-cropped to S×S once, at load time; CIFAR's are 32") { o in
            imageSizes.contains(o.imageSize) ? nil : "must lie in \(imageSizes.lowerBound)...\(imageSizes.upperBound), got \(o.imageSize)"
        }
    public static let mean = recorded(
        "mean", \.mean, property: "mean", help: "Normalisation: per-channel mean R,G,B of pixels scaled to [0, 1], subtracted before dividing by --std; computed from an image folder's training images when omitted (CIFAR: the reference recipe's 0.4914,0.4822,0.4465)",
        shownDefault: "", valueName: "r,g,b") { o in
            o.mean.flatMap { $0.count == 3 && $0.allSatisfy(\.isFinite) ? nil : "expected three finite numbers R,G,B, got \(TrainingOptions.text($0))" }
        }
    public static let std = recorded(
        "std", \.std, property: "std", help: "Normalisation: per-channel standard deviation R,G,B of pixels scaled to [0, 1]; computed from an image folder's training images when omitted (CIFAR: the reference recipe's 0.2023,0.1994,0.2010)",
        shownDefault: "", valueName: "r,g,b") { o in
            o.std.flatMap { $0.count == 3 && $0.allSatisfy { $0.isFinite && $0 > 0 } ? nil : "expected three positive numbers R,G,B, got \(TrainingOptions.text($0))" }
        }
    public static let cropPadding = recorded(
        "crop-padding", \.cropPadding, property: "cropPadding",
        help: "Zero padding before the random crop, at most --image-size; 0 disables the full-size crop (smaller --crop-schedule crops still move)") { o in
            (0...o.imageSize).contains(o.cropPadding) ? nil : "must lie in 0...\(o.imageSize) (--image-size), got \(o.cropPadding)"
        }
    public static let flip = recorded(
        "flip", \.horizontalFlip, property: "horizontalFlip",
        help: "Random horizontal flip of training images", shownDefault: "on", hasInversion: true)
    public static let cropSchedule = recorded(
        "crop-schedule", \.cropSchedule, property: "cropSchedule",
        help: "Progressive resizing: SIZE:EPOCHS[,SIZE:EPOCHS…] trains the first epochs on smaller random crops at the images' own scale (24:22 = epochs 1–22 on 24×24 crops, then full size, 32×32 on CIFAR); none for full-size crops throughout") { o in
            for phase in o.cropSchedule.phases {
                if !(1...o.imageSize).contains(phase.size) { return "crop sizes must lie in 1...\(o.imageSize) (--image-size), got \(phase.size) in \(o.cropSchedule)" }
                if phase.epochs < 1 { return "each phase needs at least 1 epoch, got \(phase.epochs) in \(o.cropSchedule)" }
            }
            return o.cropSchedule.epochs <= o.epochs ? nil
                : "its phases cover \(o.cropSchedule.epochs) epochs, more than the run's \(o.epochs); shorten them, give --crop-schedule none, or raise --epochs"
        }
    public static let testTimeAugmentation = recorded(
        "tta", \.testTimeAugmentation, property: "testTimeAugmentation",
        help: "With --val-split: test-time augmentation of the test pass after the run, none, flip or flip-shift (as evaluate --tta)") { o in
            o.testTimeAugmentation == .none || o.validationSplit > 0 ? nil : "applies to the test pass after a run with --val-split; give --val-split N too, or evaluate the trained model with `evaluate --tta`"
        }
    public static let epochs = recorded(
        "epochs", \.epochs, property: "epochs", help: "Epochs; the schedule spans all of them") { o in
            o.epochs >= 1 ? nil : "must be at least 1, got \(o.epochs)"
        }
    public static let batchSize = recorded("batch-size", \.batchSize, property: "batchSize", help: "Training batch size") { o in
        o.batchSize >= 2 ? nil : "must be at least 2 (BatchNorm needs more than one value per channel in training), got \(o.batchSize)"
    }
    public static let testBatchSize = recorded("test-batch-size", \.testBatchSize, property: "testBatchSize", help: "Test batch size") { o in
        o.testBatchSize >= 1 ? nil : "must be at least 1, got \(o.testBatchSize)"
    }
    public static let maxLearningRate = recorded("max-lr", \.maxLearningRate, property: "maxLearningRate", help: "The peak learning rate (OneCycleLR's max_lr; --schedule linear's peak too)") { o in
        o.maxLearningRate > 0 && o.maxLearningRate.isFinite ? nil : "must be a positive number, got \(o.maxLearningRate)"
    }
    public static let weightDecay = recorded("weight-decay", \.weightDecay, property: "weightDecay", help: "SGD weight decay, L2") { o in
        o.weightDecay >= 0 && o.weightDecay.isFinite ? nil : "must be zero or positive, got \(o.weightDecay)"
    }
    public static let noWeightDecayOn = recorded(
        "no-weight-decay-on", \.noWeightDecayKinds, property: "noWeightDecayKinds",
        help: "Parameter kinds without weight decay: \(Parameter.Kind.allCases.map(\.rawValue).joined(separator: ", "))",
        shownDefault: "", valueName: "kind") { o in
            o.noWeightDecayKinds.first { Parameter.Kind(rawValue: $0) == nil }.map {
                "unknown parameter kind '\($0)'; use \(Parameter.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
            }
        }
    public static let nesterov = recorded("nesterov", \.nesterov, property: "nesterov", help: "Nesterov momentum", shownDefault: "")
    public static let labelSmoothing = recorded(
        "label-smoothing", \.labelSmoothing, property: "labelSmoothing",
        help: "Label smoothing ε of the cross-entropy, PyTorch's label_smoothing") { o in
            o.labelSmoothing >= 0 && o.labelSmoothing <= 1 ? nil : "must lie in [0, 1], got \(o.labelSmoothing)"
        }
    public static let divFactor = recorded("div-factor", \.divFactor, property: "divFactor", help: "Initial lr = max lr / div factor (OneCycleLR, and --schedule linear's start)") { o in
        o.divFactor > 0 && o.divFactor.isFinite ? nil : "must be positive, got \(o.divFactor)"
    }
    /// What OneCycleLR's own options (--pct-start, --final-div-factor, --base-momentum) need.
    static let oneCycle = Requirement(flags: "--schedule onecycle") { $0.schedule == .onecycle }
    public static let finalDivFactor = recorded(
        "final-div-factor", \.finalDivFactor, property: "finalDivFactor", help: "OneCycleLR: final lr = initial lr / final div factor",
        requirement: oneCycle) { o in
            o.finalDivFactor > 0 && o.finalDivFactor.isFinite ? nil : "must be positive, got \(o.finalDivFactor)"
        }
    public static let pctStart = recorded(
        "pct-start", \.pctStart, property: "pctStart", help: "OneCycleLR: fraction of the steps spent warming up, in (0, 1)", requirement: oneCycle) { o in
        o.pctStart > 0 && o.pctStart < 1 ? nil : "must lie strictly between 0 and 1, got \(o.pctStart)"
    }
    public static let baseMomentum = recorded(
        "base-momentum", \.baseMomentum, property: "baseMomentum", help: "OneCycleLR: lowest cycled momentum", requirement: oneCycle) { o in
        o.baseMomentum >= 0 && o.baseMomentum < 1 ? nil : "must lie in [0, 1), got \(o.baseMomentum)"
    }
    public static let maxMomentum = recorded("max-momentum", \.maxMomentum, property: "maxMomentum", help: "OneCycleLR: highest cycled momentum") { o in
        o.maxMomentum >= 0 && o.maxMomentum < 1 ? nil : "must lie in [0, 1), got \(o.maxMomentum)"
    }
    public static let widthMultiplier = recorded(
        "width-multiplier", \.widthMultiplier, property: "widthMultiplier",
        help: "Width multiplier α (Howard et al. §3.3): channels become int(n·α)") { o in
            o.widthMultiplier > 0 && o.widthMultiplier <= 4 ? nil : "must lie in (0, 4], got \(o.widthMultiplier)"
        }
    public static let seed = recorded("seed", \.seed, property: "seed", help: "Seed for initialisation, order and augmentation")
    public static let threads = commandLine(
        "threads", help: "Threads for the engine and OpenBLAS; the default is the cores this process may use, its CPU affinity and cgroup quota counted (under MPI: the host's shared among its ranks, within each rank's own affinity). Results do not depend on it.",
        resume: .free)
    public static let limitTrain = recorded(
        "limit-train", \.limitTrain, property: "limitTrain", help: "Train on the first N training images only (an image folder: N spread over its classes; quick runs)", shownDefault: "all") { o in
            o.limitTrain.flatMap { $0 >= 2 ? nil : "must be at least 2, got \($0)" }
        }
    public static let limitTest = recorded(
        "limit-test", \.limitTest, property: "limitTest", help: "Test on the first N test images only (an image folder: N spread over its classes)", shownDefault: "all") { o in
            o.limitTest.flatMap { $0 >= 1 ? nil : "must be at least 1, got \($0)" }
        }
    public static let dropLast = recorded(
        "drop-last", \.dropLast, property: "dropLast",
        help: "Drop the last partial training batch (PyTorch's drop_last); kept by default, as the original PyTorch tutorial does", shownDefault: "")
    public static let metrics = commandLine(
        "metrics", help: "Append JSON lines here (never truncated): the run's resolved options when training starts or resumes, one every 100 steps (step, loss, lr, momentum), one per epoch, and one each for a --val-split run's final test pass, a resume and an interrupt (docs/run-options.md). On --resume, the run's own metrics file when omitted.",
        resume: .free)
    public static let checkpointDir = commandLine(
        "checkpoint-dir", help: "Save a checkpoint here after every epoch and on SIGINT/SIGTERM/SIGHUP (default when resuming: the checkpoint's folder).",
        resume: .free)
    public static let resumeFrom = commandLine("resume", help: "Continue a run: a --checkpoint-dir, a checkpoint folder, or a file in one.", resume: .free)
    public static let distributed = commandLine(
        "distributed", help: "Data-parallel training as one rank of an MPI job (automatic under mpirun with more than one rank; needs a build with the MPI trait). --batch-size stays the global batch.",
        resume: .free)
    public static let collectiveTimeout = commandLine(
        "collective-timeout", help: "With several ranks: end a rank whose MPI collective waits longer than this many seconds for the others (a rank or host gone without the launcher noticing); 0 for no limit.",
        resume: .free)
    public static let syncBatchNorm = recorded(
        "sync-bn", \.syncBatchNorm, property: "syncBatchNorm",
        help: "With several ranks: BatchNorm statistics over the global batch (PyTorch's SyncBatchNorm) instead of each rank's shard (DDP's default); recorded in checkpoints",
        shownDefault: "")
    /// Set from the data set's labels, not typed; recorded and checked like the others.
    public static let numClasses = recorded("num-classes", \.numClasses, property: "numClasses", help: "Classes of the data set", isCommandLine: false) { o in
        o.numClasses >= 2 ? nil : "must be at least 2, got \(o.numClasses)"
    }
}

// MARK: - Flags over options

extension TrainingOptions {
    /// A value given on the command line for one recorded option, applied over a base
    /// (the defaults, a recipe's options, or a resumed checkpoint's).
    public struct Override: @unchecked Sendable {  // @unchecked: an immutable key path and a closure over a Sendable value
        /// The property it sets.
        public let keyPath: PartialKeyPath<TrainingOptions>
        let apply: @Sendable (inout TrainingOptions) -> Void

        /// `value` for the property at `keyPath`; nil when the flag was not given.
        public static func set<Value: Sendable>(_ keyPath: WritableKeyPath<TrainingOptions, Value>, _ value: Value?) -> Override? {
            guard let value else { return nil }
            nonisolated(unsafe) let keyPath = keyPath
            return Override(keyPath: keyPath) { $0[keyPath: keyPath] = value }
        }

        /// `value` for an optional property (a limit): nil means the flag was not given, not
        /// "set to nil" (which the generic form above would read it as).
        public static func set<Value: Sendable>(_ keyPath: WritableKeyPath<TrainingOptions, Value?>, _ value: Value?) -> Override? {
            guard let value else { return nil }
            nonisolated(unsafe) let keyPath = keyPath
            return Override(keyPath: keyPath) { $0[keyPath: keyPath] = value }
        }
    }
}
