import ArgumentParser
import MobileNet

/// Everything `train` builds before its first step: options (from the flags, or from a
/// resumed checkpoint with the flags checked against it), data, model, loaders and the
/// ``TrainingRun``, restored from the checkpoint when resuming.
struct RunSetup {
    let checkpoint: TrainingCheckpoint?
    let options: TrainingOptions
    let dataPath: String
    let train: CIFARDataset
    /// The last --val-split training images (nil without a split).
    let validation: CIFARDataset?
    let test: CIFARDataset
    let run: TrainingRun
    /// The metrics file: --metrics, else (on --resume) the one the run recorded; nil for none.
    let metricsPath: String?
    /// A line saying the last partial training batch is left out each epoch (BatchNorm
    /// could not train on it), or nil when every image trains.
    let lastBatchNote: String?

    /// - Parameter communicator: the MPI job this process is a rank of (nil: alone). Every
    ///   rank loads the data and options alike; the loaders take this rank's shard of each
    ///   batch; only rank 0 gets the checkpoint directory.
    /// - Throws: ``CheckpointError`` (e.g. a flag contradicting the checkpoint, naming the
    ///   flag and both values), ``CIFARError``, ``StateDictError``, ``SafetensorsError``,
    ///   ``CommandFailure`` for a batch too small to share among the ranks.
    init(command: TrainCommand, communicator: (any Communicator)? = nil) throws {
        checkpoint = try command.resume.map { try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: $0)) }
        var options = command.options(over: checkpoint?.options ?? TrainCommand.defaults)
        if let checkpoint {
            if let difference = options.differences(from: checkpoint.options).first {
                throw Self.conflict(checkpoint, difference.flag, difference.value, difference.otherValue)
            }
            if let dataset = command.dataset, dataset.rawValue != checkpoint.dataset.name {
                throw Self.conflict(checkpoint, "--dataset", dataset.rawValue, checkpoint.dataset.name)
            }
            if command.coarseLabels && !checkpoint.dataset.coarseLabels {
                throw Self.conflict(checkpoint, "--coarse-labels", "(coarse labels)", "fine labels")
            }
        }
        var datasetKind = command.dataset
        if let checkpoint {
            guard let kind = Dataset(rawValue: checkpoint.dataset.name) else {
                throw CheckpointError.badMetadata(path: checkpoint.statePath, key: "dataset", reason: "unknown data set '\(checkpoint.dataset.name)'")
            }
            datasetKind = kind
        }
        let coarseLabels = checkpoint?.dataset.coarseLabels ?? command.coarseLabels
        if command.data == nil, let checkpoint, let relative = checkpoint.dataset.unreachableRelativeDataPath {
            throw CommandFailure("the checkpoint \(checkpoint.folder) records --data \(relative), relative to the folder that run was started from, and \(relative) does not exist here. Resume from that folder, or pass --data with the CIFAR folder (checkpoints record absolute paths now).")
        }
        dataPath = command.data ?? checkpoint?.dataset.dataPath ?? TrainCommand.defaultData
        let loaded = try CIFARDataset.load(directory: dataPath, split: .train, dataset: datasetKind, coarseLabels: coarseLabels, limit: options.limitTrain)
        test = try CIFARDataset.load(directory: dataPath, split: .test, dataset: loaded.dataset, coarseLabels: coarseLabels, limit: options.limitTest)
        guard options.validationSplit <= loaded.count - 2 else {
            throw ValidationError("--val-split \(options.validationSplit) would hold out all but \(max(0, loaded.count - options.validationSplit)) of the \(loaded.count) training images in \(dataPath); leave at least 2 for training (a smaller --val-split, or more images with --limit-train).")
        }
        if options.validationSplit > 0 {
            (train, validation) = loaded.holdingOut(last: options.validationSplit)
        } else {
            (train, validation) = (loaded, nil)
        }
        if let checkpoint {
            let recorded = checkpoint.dataset
            if loaded.count != recorded.trainImages || loaded.classNames != recorded.classNames {
                throw Self.conflict(checkpoint, "--data", "\(dataPath) (\(loaded.count) training images, \(loaded.classNames.count) classes)",
                                    "\(recorded.dataPath ?? "data") (\(recorded.trainImages) training images, \(recorded.classNames.count) classes)")
            }
        } else {
            options.numClasses = train.classNames.count
        }
        self.options = options

        let model = MobileNetV1(numClasses: options.numClasses, widthMultiplier: options.widthMultiplier, seed: options.seed)
        let dataParallel = communicator.map { DataParallel(communicator: $0, syncBatchNorm: command.syncBN) }
        let shard = dataParallel?.shard ?? .whole
        // BatchNorm trains on more than one value per channel (PyTorch's rule): one image
        // gives the last (smallest) maps' H×W values, 4 at 32×32 or 24×24, 1 at 16×16.
        let valuesPerImage = MobileNetV1.batchNormValuesPerImage(cropSides: options.trainingAugmentation.trainingCropSides)
        // Per rank, a shard needs that many images; synchronised, 1 (the global batch has more).
        let minimumShard = command.syncBN || valuesPerImage > 1 ? 1 : 2
        if shard.count > 1 && shard.smallestShard(ofBatch: min(options.batchSize, train.count)) < minimumShard {
            throw CommandFailure("--batch-size \(options.batchSize) shared by \(shard.count) ranks gives a rank \(shard.smallestShard(ofBatch: min(options.batchSize, train.count))) image(s)"
                + (minimumShard == 1 ? "; every rank needs at least 1. Use --batch-size ≥ \(shard.count) or fewer ranks."
                                     : "; BatchNorm per rank needs at least 2 at 1×1 last maps. Use --batch-size ≥ \(2 * shard.count), fewer ranks, or --sync-bn."))
        }
        let trainLoader = BatchLoader(dataset: train, configuration: .training(
            batchSize: options.batchSize, seed: options.seed, dropLast: options.dropLast, augmentation: options.trainingAugmentation,
            shard: shard, minimumShardImages: minimumShard, batchNormValuesPerImage: valuesPerImage))
        if trainLoader.droppedForBatchNorm > 0 {
            let side = options.trainingAugmentation.trainingCropSides.min { MobileNetV1.lastMapSide(inputSide: $0) < MobileNetV1.lastMapSide(inputSide: $1) } ?? 32
            lastBatchNote = "note: the last batch of \(trainLoader.droppedForBatchNorm) image(s) (\(train.count) = \(train.count / options.batchSize) × \(options.batchSize) + \(train.count % options.batchSize)) is left out of every epoch: "
                + (shard.count > 1 && valuesPerImage > 1 ? "a rank's share of it would be empty" :
                   "at \(side)×\(side) crops BatchNorm would see one value per channel in it (PyTorch stops there)")
                + "; the shuffled order leaves out different images each epoch."
        } else {
            lastBatchNote = nil
        }
        let testLoader = BatchLoader(dataset: test, configuration: .evaluation(batchSize: options.testBatchSize, shard: shard))
        // Sharded as the test pass: each rank evaluates its part, the totals are summed.
        let validationLoader = validation.map { BatchLoader(dataset: $0, configuration: .evaluation(batchSize: options.testBatchSize, shard: shard)) }
        guard trainLoader.stepsPerEpoch > 0 else {
            throw ValidationError("the training set in \(dataPath) holds \(train.count) image(s), too few for one training step of batch \(options.batchSize)\(options.dropLast ? " with --drop-last" : ""); BatchNorm needs at least 2 images per batch. Use more images (--limit-train) or a smaller --batch-size.")
        }
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: trainLoader.stepsPerEpoch, dataParallel: dataParallel)
        let isRoot = communicator?.isRoot ?? true
        let directory = !isRoot ? nil : command.checkpointDir.map(CheckpointDirectory.init(path:)) ?? checkpoint.flatMap { CheckpointLocation.directory(of: $0.folder) }
        metricsPath = command.metrics ?? checkpoint?.dataset.metricsPath
        if let given = command.metrics { try MetricsLog.checkBelongs(path: given, toRunWritingTo: checkpoint?.dataset.metricsPath) }
        let description = CheckpointDataset(name: train.dataset.rawValue, coarseLabels: coarseLabels, classNames: train.classNames,
                                            trainImages: loaded.count, dataPath: CheckpointDataset.absolutePath(dataPath),
                                            metricsPath: metricsPath.map(CheckpointDataset.absolutePath))
        run = TrainingRun(loop: TrainingLoop(session: session, trainLoader: trainLoader, testLoader: testLoader,
                                             validationLoader: validationLoader),
                          dataset: description, checkpoints: directory)
        if let checkpoint { try run.resume(from: checkpoint) }
    }

    private static func conflict(_ checkpoint: TrainingCheckpoint, _ flag: String, _ given: String, _ recorded: String) -> CheckpointError {
        .optionConflict(path: checkpoint.statePath, flag: flag, given: given, checkpoint: recorded)
    }
}
