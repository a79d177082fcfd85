import Foundation

/// The data set a run trained on, as its checkpoint records it: what `evaluate`, `predict`
/// and `export` need to treat images as training did (classes, image size, normalisation).
public struct CheckpointDataset: Codable, Equatable, Sendable {
    /// The kind of data: a ``Dataset`` raw value, "cifar10" or "cifar100", or
    /// ``imageFolderName`` for an image folder.
    public var name: String
    /// CIFAR-100 trained on the 20 coarse superclasses.
    public var coarseLabels: Bool
    /// Class names, index = label.
    public var classNames: [String]
    /// Training images read (after --limit-train, before --val-split holds some out).
    public var trainImages: Int
    /// The --data folder of the run (the default data folder when resuming).
    public var dataPath: String?
    /// The --metrics file of the run (the default --metrics when resuming); nil when the
    /// run wrote none, and in checkpoints written before it was recorded.
    public var metricsPath: String?
    /// The side S of the images trained on; nil in checkpoints written before it was
    /// recorded, which trained on CIFAR at 32 (``resolvedImageSize``).
    public var imageSize: Int?
    /// The normalisation's mean (R, G, B of pixels scaled to [0, 1]); nil in checkpoints
    /// written before it was recorded, which used the reference recipe's CIFAR values.
    public var mean: [Float]?
    /// The normalisation's standard deviation (R, G, B); nil as ``mean``.
    public var std: [Float]?

    /// ``name`` of an image folder run.
    public static let imageFolderName = "image-folder"

    public init(name: String, coarseLabels: Bool, classNames: [String], trainImages: Int, dataPath: String? = nil,
                metricsPath: String? = nil, imageSize: Int? = nil, mean: [Float]? = nil, std: [Float]? = nil) {
        self.name = name
        self.coarseLabels = coarseLabels
        self.classNames = classNames
        self.trainImages = trainImages
        self.dataPath = dataPath
        self.metricsPath = metricsPath
        self.imageSize = imageSize
        self.mean = mean
        self.std = std
    }

    /// The key under which model files a run saves (`model.safetensors` of each checkpoint,
    /// `best.safetensors`) carry this description as JSON, so a model file copied elsewhere
    /// still says how its images are prepared.
    public static let metadataKey = "dataset"

    /// The description a model file carries (``metadataKey``), nil when it has none or it does not decode.
    public static func recorded(in file: SafetensorsFile) -> CheckpointDataset? {
        file.metadata[metadataKey].flatMap { try? JSONDecoder().decode(CheckpointDataset.self, from: Data($0.utf8)) }
    }

    /// True for a run on an image folder.
    public var isImageFolder: Bool { name == Self.imageFolderName }
    /// ``imageSize``, or CIFAR's 32 for a checkpoint that predates it.
    public var resolvedImageSize: Int { imageSize ?? CIFARImage.side }
    /// ``mean``, or the reference recipe's CIFAR mean for a checkpoint that predates it.
    public var resolvedMean: [Float] { mean ?? AugmentationOptions.cifarMean }
    /// ``std``, or the reference recipe's CIFAR std for a checkpoint that predates it.
    public var resolvedStd: [Float] { std ?? AugmentationOptions.cifarStd }
    /// The test transforms training used: S×S, normalised with ``resolvedMean`` and ``resolvedStd``.
    public var evaluationAugmentation: AugmentationOptions {
        AugmentationOptions(imageSide: resolvedImageSize, cropPadding: 0, horizontalFlip: false, mean: resolvedMean, std: resolvedStd)
    }
}

/// A training checkpoint: a folder holding
/// - `model.safetensors`: the model alone, the PyTorch model's state_dict names, loadable in PyTorch
///   with `model.load_state_dict(safetensors.torch.load_file(p), strict=True)`; its metadata
///   holds `global_step` and `dataset` (``CheckpointDataset``) too;
/// - `training_state.safetensors`: SGD's momentum buffers as `momentum_buffer.<parameter
///   name>` (F32, the parameter's shape), and in `__metadata__` JSON strings: `format`,
///   `format_version`, `epoch` (0-based epoch in progress), `step` (steps of it done),
///   `global_step` (optimizer steps = the schedule position), `steps_per_epoch`, `options`
///   (``TrainingOptions``), `dataset` (``CheckpointDataset``), `best_accuracy`
///   (optional; `best_test_accuracy` in earlier checkpoints) and `momentum_buffers` (their count);
/// - `ema.safetensors`, in a run with ``TrainingOptions/emaDecay`` > 0 only: the moving
///   average of the weights (``ExponentialMovingAverage``), a model file like
///   `model.safetensors` whose metadata adds `ema_updates` (updates made) and `ema_decay`.
///
/// No RNG state is stored: every batch is a function of (seed, epoch, step) (see
/// ``BatchLoader``), so restoring model, momentum and schedule position and restarting the
/// loader at (epoch, step) continues the run bit for bit. Both files carry `global_step`,
/// so a model and a state from different saves are detected.
public struct TrainingCheckpoint: Sendable {
    public static let formatVersion = 1
    public static let formatName = "mobilenet-training-state"
    public static let modelFileName = "model.safetensors"
    public static let stateFileName = "training_state.safetensors"
    public static let momentumPrefix = "momentum_buffer."
    public static let emaFileName = "ema.safetensors"

    /// The folder read.
    public let folder: String
    public let options: TrainingOptions
    public let dataset: CheckpointDataset
    /// 0-based epoch in progress and steps of it done (epoch e complete ⇒ (e + 1, 0)).
    public let epoch: Int
    public let step: Int
    /// Optimizer steps taken: epoch · stepsPerEpoch + step.
    public let globalStep: Int
    public let stepsPerEpoch: Int
    /// Best accuracy after any epoch so far, in [0, 1], on the validation set with
    /// ``TrainingOptions/validationSplit`` > 0, else on the test set (nil without evaluations).
    public let bestAccuracy: Double?
    /// The running training figures of the epoch in progress (metadata `epoch_tally`,
    /// written mid-epoch; nil at an epoch boundary and in checkpoints written before it).
    public let epochTally: EpochTally?
    /// The two files, parsed and validated.
    public let model: SafetensorsFile
    public let state: SafetensorsFile
    /// `ema.safetensors`, present exactly when ``TrainingOptions/emaDecay`` > 0.
    public let ema: SafetensorsFile?

    public var modelPath: String { model.path }
    public var statePath: String { state.path }

    /// Reads and checks a checkpoint folder (both files, metadata, options in range, positions).
    /// - Throws: ``CheckpointError``, or ``SafetensorsError`` for a damaged file.
    public init(folder: String) throws {
        let modelPath = folder + "/" + Self.modelFileName, statePath = folder + "/" + Self.stateFileName
        for path in [modelPath, statePath] where !FileManager.default.fileExists(atPath: path) {
            throw CheckpointError.notACheckpoint(path: folder, what: "\((path as NSString).lastPathComponent) is missing")
        }
        let state = try SafetensorsFile(contentsOfFile: statePath)
        let model = try SafetensorsFile(contentsOfFile: modelPath)
        let emaPath = folder + "/" + Self.emaFileName
        ema = FileManager.default.fileExists(atPath: emaPath) ? try SafetensorsFile(contentsOfFile: emaPath) : nil
        let meta = MetadataReader(file: state)
        guard try meta.string("format") == Self.formatName else {
            throw CheckpointError.badMetadata(path: statePath, key: "format", reason: "expected \(Self.formatName)")
        }
        let version = try meta.int("format_version")
        guard version == Self.formatVersion else {
            throw CheckpointError.unsupportedVersion(path: statePath, version: version, supported: Self.formatVersion)
        }
        self.folder = folder
        self.model = model
        self.state = state
        options = try meta.json("options", TrainingOptions.self)
        do {
            try options.validate()
        } catch let error as TrainingOptions.InvalidOption {
            throw CheckpointError.badMetadata(path: statePath, key: "options", reason: error.description)
        }
        dataset = try meta.json("dataset", CheckpointDataset.self)
        epoch = try meta.int("epoch")
        step = try meta.int("step")
        globalStep = try meta.int("global_step")
        stepsPerEpoch = try meta.int("steps_per_epoch")
        // "best_test_accuracy": the key of checkpoints written before validation splits existed.
        let bestKey = state.metadata["best_accuracy"] != nil ? "best_accuracy" : "best_test_accuracy"
        bestAccuracy = try state.metadata[bestKey].map { _ in try meta.double(bestKey) }
        epochTally = try state.metadata["epoch_tally"].map { _ in try meta.json("epoch_tally", EpochTally.self) }
        try checkConsistency(momentumCount: try meta.int("momentum_buffers"))
    }

    private func checkConsistency(momentumCount: Int) throws {
        func require(_ ok: Bool, _ reason: @autoclosure () -> String) throws {
            if !ok { throw CheckpointError.inconsistent(path: statePath, reason: reason()) }
        }
        try require(stepsPerEpoch >= 1, "steps_per_epoch is \(stepsPerEpoch)")
        try require(epoch >= 0 && epoch <= options.epochs, "epoch \(epoch) is outside 0...\(options.epochs)")
        try require(step >= 0 && step < stepsPerEpoch && (epoch < options.epochs || step == 0),
                    "step \(step) is outside epoch \(epoch) of \(stepsPerEpoch) steps")
        try require(epochTally.map { $0.steps == step && $0.images >= 0 && (0...$0.images).contains($0.correct) } ?? true,
                    "epoch_tally counts \(epochTally?.steps ?? 0) steps, not the \(step) done")
        try require(globalStep == epoch * stepsPerEpoch + step,
                    "global_step \(globalStep) ≠ epoch \(epoch) × \(stepsPerEpoch) steps + step \(step)")
        let modelStep = model.metadata["global_step"]
        guard modelStep == String(globalStep) else {
            throw CheckpointError.inconsistent(path: folder, reason: "\(Self.modelFileName) is from global step \(modelStep ?? "unknown") but \(Self.stateFileName) from \(globalStep) (files from different saves)")
        }
        if (options.emaDecay > 0) != (ema != nil) {
            throw CheckpointError.inconsistent(path: folder, reason: options.emaDecay > 0
                ? "the run averages its weights (--ema-decay \(options.emaDecay)) but \(Self.emaFileName) is missing"
                : "it holds \(Self.emaFileName) but the run's options have no --ema-decay")
        }
        if let ema {
            let updates = globalStep / options.emaEvery
            guard ema.metadata["global_step"] == String(globalStep), ema.metadata["ema_updates"] == String(updates) else {
                throw CheckpointError.inconsistent(path: ema.path, reason: "expected global step \(globalStep) and \(updates) updates (every \(options.emaEvery) steps), found \(ema.metadata["global_step"] ?? "none") and \(ema.metadata["ema_updates"] ?? "none") (files from different saves)")
            }
        }
        let unexpected = state.names.filter { !$0.hasPrefix(Self.momentumPrefix) }
        if !unexpected.isEmpty { throw CheckpointError.unexpectedTensors(path: statePath, names: unexpected) }
        try require(state.names.count == momentumCount, "momentum_buffers says \(momentumCount) but the file holds \(state.names.count)")
    }

    /// Restores the model (weights, running statistics), the moving average, SGD's momentum
    /// buffers and the schedule position into `session`. Everything is checked before anything is copied,
    /// so a failed restore leaves the session unchanged.
    /// - Precondition: `session` was built with this checkpoint's ``options``.
    /// - Throws: ``CheckpointError/stepsPerEpochMismatch(path:checkpoint:data:)``,
    ///   ``CheckpointError/unexpectedTensors(path:names:)``, ``StateDictError``.
    public func restore(into session: TrainingSession) throws {
        precondition(session.options == options, "restore a checkpoint into a session built with its options")
        guard session.stepsPerEpoch == stepsPerEpoch else {
            throw CheckpointError.stepsPerEpochMismatch(path: statePath, checkpoint: stepsPerEpoch, data: session.stepsPerEpoch)
        }
        let parameters = session.optimizer.parameters
        let indexByName = Dictionary(uniqueKeysWithValues: session.model.namedParameters.enumerated().map { ($0.element.name, $0.offset) })
        var buffers: [(index: Int, name: String)] = []
        var unknown: [String] = []
        for name in state.names {
            guard let index = indexByName[String(name.dropFirst(Self.momentumPrefix.count))] else { unknown.append(name); continue }
            let entry = try state.entry(name)
            guard entry.shape == parameters[index].value.shape else {
                throw StateDictError.shapeMismatch(path: statePath, tensor: name, expected: parameters[index].value.shape, actual: entry.shape)
            }
            guard entry.dtype == .f32 else {
                throw StateDictError.wrongDType(path: statePath, tensor: name, expected: "F32", actual: entry.dtype.rawValue)
            }
            buffers.append((index, name))
        }
        if !unknown.isEmpty { throw CheckpointError.unexpectedTensors(path: statePath, names: unknown) }
        let averaged = try ema.map { file in
            let averaged = MobileNetV1(numClasses: session.model.numClasses, inputChannels: session.model.inputChannels,
                                       widthMultiplier: session.model.widthMultiplier)
            try averaged.load(from: file, strict: true)
            return averaged
        }
        try session.model.load(from: model, strict: true)
        if let averaged, let target = session.ema {
            ExponentialMovingAverage.copy(from: averaged, into: target.model)
            target.restore(updates: target.updates(afterStep: globalStep))
        }
        for (index, name) in buffers { try session.optimizer.restoreMomentumBuffer(at: index, from: try state.tensor(name)) }
        try session.seek(toStep: globalStep)
    }

    /// Writes `model.safetensors` and `training_state.safetensors` for `session` into
    /// `folder` (which must exist), each atomically. Nothing is written if any tensor is
    /// not finite.
    /// - Parameters:
    ///   - epoch, step: the position (step steps of 0-based epoch done); with the session's
    ///     steps per epoch it must equal the session's global step.
    /// - Throws: ``CheckpointError/nonFinite(tensor:)`` before writing anything, or
    ///   ``FileWriteError`` naming the file.
    public static func write(session: TrainingSession, epoch: Int, step: Int, dataset: CheckpointDataset,
                             bestAccuracy: Double?, epochTally: EpochTally? = nil, into folder: String) throws {
        precondition(epoch * session.stepsPerEpoch + step == session.globalStep,
                     "position (\(epoch), \(step)) is not global step \(session.globalStep)")
        let model = session.model
        let momentum = zip(model.namedParameters, session.optimizer.momentumBuffers).compactMap { named, buffer in
            buffer.map { (Self.momentumPrefix + named.name, $0) }
        }
        try requireFinite(model)
        try requireFinite(momentum)
        if let ema = session.ema { try requireFinite(ema.model) }

        let position = ["global_step": "\(session.globalStep)", "epoch": "\(epoch)", "step": "\(step)"]
        try model.save(to: folder + "/" + modelFileName, metadata: position.merging([CheckpointDataset.metadataKey: jsonText(dataset)]) { a, _ in a })
        if let ema = session.ema {
            try ema.model.save(to: folder + "/" + emaFileName, metadata: position.merging([
                CheckpointDataset.metadataKey: jsonText(dataset), "ema_updates": "\(ema.updates)", "ema_decay": "\(ema.decay)",
            ]) { a, _ in a })
        }
        var writer = SafetensorsWriter()
        for (name, buffer) in momentum { writer.add(name, tensor: buffer) }
        writer.metadata = position.merging([
            "format": formatName, "format_version": "\(formatVersion)",
            "steps_per_epoch": "\(session.stepsPerEpoch)", "momentum_buffers": "\(momentum.count)",
            "options": jsonText(session.options), "dataset": jsonText(dataset),
        ]) { a, _ in a }
        if let bestAccuracy { writer.metadata["best_accuracy"] = "\(bestAccuracy)" }
        if let epochTally { writer.metadata["epoch_tally"] = jsonText(epochTally) }
        try writer.write(to: folder + "/" + stateFileName)
    }

    /// - Throws: ``CheckpointError/nonFinite(tensor:)`` if a parameter or running statistic
    ///   of `model` holds NaN or ±inf.
    static func requireFinite(_ model: MobileNetV1) throws {
        try requireFinite(model.namedParameters.map { ($0.name, $0.parameter.value) })
        try requireFinite(model.namedBuffers.compactMap { named in
            if case .float(let t) = named.value { return (named.name, t) } else { return nil }
        })
    }

    /// - Throws: ``CheckpointError/nonFinite(tensor:)`` for the first tensor holding NaN or ±inf.
    static func requireFinite(_ tensors: [(String, Tensor)]) throws {
        for (name, tensor) in tensors where !tensor.buffer.allSatisfy({ $0.isFinite }) {
            throw CheckpointError.nonFinite(tensor: name)
        }
    }

    static func jsonText<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers, strings and arrays cannot fail.
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}
