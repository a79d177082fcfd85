import Foundation

/// A run that fails to set up for a reason the flags can fix.
public enum TrainingRunSetupError: Error, CustomStringConvertible, Equatable {
    /// The flags do not fit the data (too large a `--val-split`, too few images for a batch): a usage error.
    case flagsDoNotFitData(String)
    /// A combination this build cannot run (too small a batch for the ranks, `--val-split` under MPI),
    /// or a checkpoint folder that cannot take the run.
    case cannotRun(String)

    public var description: String {
        switch self {
        case .flagsDoNotFitData(let message), .cannotRun(let message): message
        }
    }
}

/// Everything `train` builds before its first step, from a ``TrainingRunRequest``: the
/// options (from the flags, or from a resumed checkpoint with the flags checked against it),
/// data, model, loaders and the ``TrainingRun``, restored from the checkpoint when resuming.
/// ``execute(metrics:shouldStop:onEvent:)`` then runs it, writing the metrics file.
public struct TrainingRunSetup {
    public let checkpoint: TrainingCheckpoint?
    public let options: TrainingOptions
    public let dataPath: String
    /// The images, their kind and normalisation, and the lines to print about them.
    public let data: RunData
    public let train: ImageDataset
    /// The --val-split training images held out (nil without a split).
    public let validation: ImageDataset?
    /// The test set (nil for an image folder of one tree: its held-out images are evaluated instead).
    public let test: ImageDataset?
    public let run: TrainingRun
    /// The metrics file: --metrics, else (on --resume) the one the run recorded; nil for none.
    public let metricsPath: String?
    /// A line saying the last partial training batch is left out each epoch (BatchNorm
    /// could not train on it), or nil when every image trains.
    public let lastBatchNote: String?

    /// - Parameter communicator: the MPI job this process is a rank of (nil: alone). Every
    ///   rank loads the data and options alike; the loaders take this rank's shard of each
    ///   batch; only rank 0 gets the checkpoint directory.
    /// - Throws: ``CheckpointError`` (e.g. a flag contradicting the checkpoint, naming the
    ///   flag and both values), ``CIFARError``, ``ImageFolderError``, ``StateDictError``, ``SafetensorsError``,
    ///   ``TrainingRunSetupError``.
    public init(_ request: TrainingRunRequest, communicator: (any Communicator)? = nil) throws {
        checkpoint = try request.resumeFrom.map { try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: $0)) }
        var options = request.options(over: checkpoint?.options ?? TrainingOptions())
        if let checkpoint {
            try Self.check(request, against: checkpoint, options: options)
        }
        if let checkpoint, !checkpoint.dataset.isImageFolder, Dataset(rawValue: checkpoint.dataset.name) == nil {
            throw CheckpointError.badMetadata(path: checkpoint.statePath, key: "dataset", reason: "unknown data set '\(checkpoint.dataset.name)'")
        }
        if request.dataPath == nil, let checkpoint, let relative = checkpoint.dataset.unreachableRelativeDataPath {
            throw TrainingRunSetupError.cannotRun("the checkpoint \(checkpoint.folder) records --data \(relative), relative to the folder that run was started from, and \(relative) does not exist here. Resume from that folder, or pass --data with the data folder (checkpoints record absolute paths now).")
        }
        dataPath = request.dataPath ?? checkpoint?.dataset.dataPath ?? RunOption.defaultDataPath
        data = try RunData.load(path: dataPath, options: options, dataset: request.dataset, coarseLabels: request.coarseLabels,
                                maxMemory: request.maxMemory ?? RunOption.defaultMaxMemory, recorded: checkpoint?.dataset)
        (train, validation, test) = (data.train, data.validation, data.test)
        if data.kind == CheckpointDataset.imageFolderName { try Self.checkOutsideData(request, dataPath: dataPath) }
        if let checkpoint {
            let recorded = checkpoint.dataset
            if data.trainImages != recorded.trainImages || train.classNames != recorded.classNames {
                throw Self.conflict(checkpoint, RunOption.data.flag, "\(dataPath) (\(data.trainImages) training images, \(train.classNames.count) classes)",
                                    "\(recorded.dataPath ?? "data") (\(recorded.trainImages) training images, \(recorded.classNames.count) classes)")
            }
            // The run computed its normalisation from these images: other values mean other pixels.
            if let computed = data.computed, let mean = recorded.mean, let std = recorded.std, options.mean == nil && options.std == nil,
               computed.mean != mean || computed.std != std {
                throw Self.conflict(checkpoint, RunOption.data.flag, "\(dataPath) (training images of mean \(TrainingOptions.text(computed.mean)), std \(TrainingOptions.text(computed.std)))",
                                    "\(recorded.dataPath ?? "data") (mean \(TrainingOptions.text(mean)), std \(TrainingOptions.text(std)))")
            }
        } else {
            options.numClasses = train.classNames.count
        }
        self.options = options

        let model = MobileNetV1(numClasses: options.numClasses, widthMultiplier: options.widthMultiplier, seed: options.seed)
        let dataParallel = communicator.map { DataParallel(communicator: $0, syncBatchNorm: options.syncBatchNorm) }
        let shard = dataParallel?.shard ?? .whole
        let augmentation = options.trainingAugmentation(mean: data.mean, std: data.std)
        // BatchNorm trains on more than one value per channel (PyTorch's rule): one image
        // gives the last (smallest) maps' H×W values, ⌈S/16⌉²: 4 at 32×32 or 24×24, 1 at 16×16.
        let valuesPerImage = MobileNetV1.batchNormValuesPerImage(cropSides: augmentation.trainingCropSides)
        // Per rank, a shard needs that many images; synchronised, 1 (the global batch has more).
        let minimumShard = options.syncBatchNorm || valuesPerImage > 1 ? 1 : 2
        if shard.count > 1 && shard.smallestShard(ofBatch: min(options.batchSize, train.count)) < minimumShard {
            throw TrainingRunSetupError.cannotRun("--batch-size \(options.batchSize) shared by \(shard.count) ranks gives a rank \(shard.smallestShard(ofBatch: min(options.batchSize, train.count))) image(s)"
                + (minimumShard == 1 ? "; every rank needs at least 1. Use --batch-size ≥ \(shard.count) or fewer ranks."
                                     : "; BatchNorm per rank needs at least 2 at 1×1 last maps. Use --batch-size ≥ \(2 * shard.count), fewer ranks, or --sync-bn."))
        }
        let trainLoader = BatchLoader(dataset: train, configuration: .training(
            batchSize: options.batchSize, seed: options.seed, dropLast: options.dropLast, augmentation: augmentation,
            shard: shard, minimumShardImages: minimumShard, batchNormValuesPerImage: valuesPerImage))
        if trainLoader.droppedForBatchNorm > 0 {
            let side = augmentation.trainingCropSides.min { MobileNetV1.lastMapSide(inputSide: $0) < MobileNetV1.lastMapSide(inputSide: $1) } ?? options.imageSize
            lastBatchNote = "note: the last batch of \(trainLoader.droppedForBatchNorm) image(s) (\(train.count) = \(train.count / options.batchSize) × \(options.batchSize) + \(train.count % options.batchSize)) is left out of every epoch: "
                + (shard.count > 1 && valuesPerImage > 1 ? "a rank's share of it would be empty" :
                   "at \(side)×\(side) crops BatchNorm would see one value per channel in it (PyTorch stops there)")
                + "; the shuffled order leaves out different images each epoch."
        } else {
            lastBatchNote = nil
        }
        let evaluation = BatchLoader.Configuration.evaluation(batchSize: options.testBatchSize, shard: shard, augmentation: augmentation.forEvaluation)
        let testLoader = test.map { BatchLoader(dataset: $0, configuration: evaluation) }
        // Sharded as the test pass: each rank evaluates its part, the totals are summed.
        let validationLoader = validation.map { BatchLoader(dataset: $0, configuration: evaluation) }
        guard trainLoader.stepsPerEpoch > 0 else {
            throw TrainingRunSetupError.flagsDoNotFitData("the training set in \(dataPath) holds \(train.count) image(s), too few for one training step of batch \(options.batchSize)\(options.dropLast ? " with --drop-last" : ""); BatchNorm needs at least 2 images per batch. Use more images (--limit-train) or a smaller --batch-size.")
        }
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: trainLoader.stepsPerEpoch, dataParallel: dataParallel)
        let isRoot = communicator?.isRoot ?? true
        let directory = !isRoot ? nil : request.checkpointDirectory.map(CheckpointDirectory.init(path:)) ?? checkpoint.flatMap { CheckpointLocation.directory(of: $0.folder) }
        metricsPath = request.metricsPath ?? checkpoint?.dataset.metricsPath
        if let given = request.metricsPath { try MetricsLog.checkBelongs(path: given, toRunWritingTo: checkpoint?.dataset.metricsPath) }
        let description = CheckpointDataset(name: data.kind, coarseLabels: data.coarseLabels, classNames: train.classNames,
                                            trainImages: data.trainImages, dataPath: CheckpointDataset.absolutePath(dataPath),
                                            metricsPath: metricsPath.map(CheckpointDataset.absolutePath),
                                            imageSize: options.imageSize, mean: data.mean, std: data.std)
        // Every rank recalibrates on the same images (no shards), so all end alike.
        let recalibrationLoader = BatchNormRecalibration.loader(for: options, train: train, mean: data.mean, std: data.std)
        run = TrainingRun(loop: TrainingLoop(session: session, trainLoader: trainLoader, testLoader: testLoader,
                                             validationLoader: validationLoader, recalibrationLoader: recalibrationLoader),
                          dataset: description, checkpoints: directory)
        if let checkpoint { try run.resume(from: checkpoint) }
    }

    /// Refuses a `--checkpoint-dir` or `--metrics` the request gives inside an image folder it
    /// trains on (or the folder itself), compared as the file system resolves them
    /// (``ResolvedPath``): the folder would take the checkpoint folder for a class when it is
    /// read again (evaluate, resume). (A CIFAR folder is read by file name; a run folder
    /// beside its binaries is harmless there.)
    /// - Throws: ``TrainingRunSetupError/cannotRun(_:)`` naming the flag and the folder.
    static func checkOutsideData(_ request: TrainingRunRequest, dataPath: String) throws {
        let data = ResolvedPath.of(dataPath)
        for (option, path) in [(RunOption.checkpointDir, request.checkpointDirectory), (RunOption.metrics, request.metricsPath)] {
            guard let path else { continue }
            let target = ResolvedPath.of(path)
            if target == data || target.hasPrefix(data + "/") {
                throw TrainingRunSetupError.cannotRun("\(option.flag) \(path) is inside the data folder \(dataPath): an image folder reads every folder in it as a class, and would read this one when the run is evaluated or resumed. Give a path outside \(dataPath).")
            }
        }
    }

    /// A resume's flags against the checkpoint: every recorded option (``RunOption/ResumeRule/recorded``)
    /// must equal the checkpoint's, and the data set flags its data set.
    /// - Throws: ``CheckpointError/optionConflict(path:flag:given:checkpoint:)`` naming the flag and both values,
    ///   ``CheckpointError/configConflict(path:config:key:flag:given:checkpoint:)`` when the `--config` file gave the value.
    private static func check(_ request: TrainingRunRequest, against checkpoint: TrainingCheckpoint, options: TrainingOptions) throws {
        if let difference = options.differences(from: checkpoint.options).first {
            if let option = RunOption.all.first(where: { $0.flag == difference.flag }), let source = request.configKey(for: option) {
                throw CheckpointError.configConflict(path: checkpoint.statePath, config: source.path, key: source.key, flag: difference.flag,
                                                     given: difference.value, checkpoint: difference.otherValue)
            }
            throw conflict(checkpoint, difference.flag, difference.value, difference.otherValue)
        }
        if let dataset = request.dataset, dataset.rawValue != checkpoint.dataset.name {
            throw conflict(checkpoint, RunOption.dataset.flag, dataset.rawValue, checkpoint.dataset.name)
        }
        if request.coarseLabels && !checkpoint.dataset.coarseLabels {
            throw conflict(checkpoint, RunOption.coarseLabels.flag, "(coarse labels)", "fine labels")
        }
    }

    private static func conflict(_ checkpoint: TrainingCheckpoint, _ flag: String, _ given: String, _ recorded: String) -> CheckpointError {
        .optionConflict(path: checkpoint.statePath, flag: flag, given: given, checkpoint: recorded)
    }

    /// Checks the checkpoint folder before the first step, so a problem costs no training:
    /// a new run never overwrites another run's checkpoints (nor does a resumed one), no part
    /// of the folder's path may be a file, no other process may be training into it (it is
    /// locked for this one, ``CheckpointDirectory/lock()``), and the folder must be writable
    /// (a probe file is written atomically and removed). Nothing to do without a folder.
    /// Folders left by a save that a process did not finish (it no longer runs) are removed.
    /// - Returns: the removed folders, for the caller to mention.
    /// - Throws: ``TrainingRunSetupError/cannotRun(_:)`` naming the folder and what to do.
    @discardableResult
    public func prepareCheckpointDirectory() throws -> [CheckpointDirectory.StaleSave] {
        guard let directory = run.checkpoints else { return [] }
        if let file = ResolvedPath.fileInTheWay(of: directory.path) {
            let given = ResolvedPath.of(file) == ResolvedPath.of(directory.path) ? "" : "\(directory.path): "
            throw TrainingRunSetupError.cannotRun("--checkpoint-dir \(given)\(ResolvedPath.notAFolder(file)). Choose a folder path; nothing was moved or overwritten.")
        }
        if let metricsPath, let entry = CheckpointLocation.runEntry(at: metricsPath, in: directory) {
            throw TrainingRunSetupError.cannotRun("--metrics \(metricsPath) is \(entry) in --checkpoint-dir \(directory.path), which train writes and replaces; give another file, e.g. \(directory.path)/metrics.jsonl. Nothing was written.")
        }
        if directory.lastFolder != nil || FileManager.default.fileExists(atPath: directory.bestPath) {
            if let checkpoint {
                // A resumed run may keep saving into its own folder, not into another run's.
                let own = (checkpoint.folder as NSString).deletingLastPathComponent
                if ResolvedPath.of(own) != ResolvedPath.of(directory.path) {
                    throw TrainingRunSetupError.cannotRun("--checkpoint-dir \(directory.path) already holds another run's checkpoints, and --resume \(checkpoint.folder) belongs to the run in \(own). Leave out --checkpoint-dir to keep saving there, or give a new folder; nothing was overwritten.")
                }
            } else {
                throw TrainingRunSetupError.cannotRun("--checkpoint-dir \(directory.path) already holds another run's checkpoints. Continue that run with --resume \(directory.path), or choose a new folder; nothing was overwritten.")
            }
        }
        try directory.create()
        if let holder = try directory.lock() {
            throw TrainingRunSetupError.cannotRun("--checkpoint-dir \(directory.path) is in use by another train process\(holder > 0 ? " (pid \(holder))" : ""): two runs saving into one folder would delete each other's checkpoints. Wait for it to end, or choose another folder; nothing was overwritten.")
        }
        let removed = directory.removeStaleSaves()
        let probe = directory.path + "/.write-test-\(getpid())"
        do {
            try AtomicFile.write(Data("probe".utf8), to: probe)
        } catch {
            throw TrainingRunSetupError.cannotRun("cannot write checkpoints to \(directory.path): \(error) Or choose another --checkpoint-dir.")
        }
        try? FileManager.default.removeItem(atPath: probe)
        try RunConfigFile.write(options, into: directory.path)
        return removed
    }
}
