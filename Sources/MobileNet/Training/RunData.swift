import Foundation

/// The images of a run, from a CIFAR folder or an image folder, as the options select them:
/// the training set (after `--limit-train`, less the `--val-split` images), the validation
/// set those make, the test set (CIFAR's test batch, an image folder's `val/` or `test/`),
/// and the normalisation every loader applies.
///
/// Which images `--limit-train`, `--limit-test` and `--val-split` take: on CIFAR the first
/// N (limits) and the last N (split) in file order, as before; on an image folder, whose
/// listing runs class by class, N positions spread evenly over the listing (``EvenSpread``),
/// so every class keeps its share. Both are the same for every seed.
public struct RunData {
    /// The kind recorded in checkpoints (``CheckpointDataset/name``): "cifar10", "cifar100", "image-folder".
    public let kind: String
    /// What the data is, for people: "CIFAR-10", "image folder".
    public let name: String
    /// The images trained on (after `--limit-train`, without the held-out ones).
    public let train: ImageDataset
    /// The held-out training images (nil without `--val-split`).
    public let validation: ImageDataset?
    /// The test set (nil for an image folder of one tree, whose held-out images are its evaluation).
    public let test: ImageDataset?
    /// Training images before `--val-split` held some out (after `--limit-train`).
    public let trainImages: Int
    /// CIFAR-100 on the coarse superclasses.
    public let coarseLabels: Bool
    /// The normalisation's mean (R, G, B), from the flags, the checkpoint, the training images, or CIFAR's recipe.
    public let mean: [Float]
    /// The normalisation's standard deviation (R, G, B), from the same source.
    public let std: [Float]
    /// The statistics of the training images' pixels (image folders; nil for CIFAR).
    public let computed: ChannelStatistics?
    /// How the held-out images were picked, for the header: "the last training images".
    public let validationRule: String
    /// Lines to print about the data: files skipped, class names standing in for a missing
    /// file, where the normalisation came from.
    public let notes: [String]

    /// Reads the data at `path`: CIFAR binaries when the folder holds them (or `dataset` is
    /// given, or `recorded` says so), else an image folder (``ImageFolderLayout``).
    /// - Parameters:
    ///   - recorded: the resumed checkpoint's data set (its kind and normalisation are kept).
    ///   - maxMemory: the bytes an image folder's decoded images may take (`--max-memory`).
    /// - Throws: ``CIFARError``, ``ImageFolderError``, ``TrainingRunSetupError/flagsDoNotFitData(_:)``
    ///   for a `--val-split` that leaves fewer than 2 training images, an `--image-size` on CIFAR
    ///   or `--coarse-labels` on an image folder.
    public static func load(path: String, options: TrainingOptions, dataset: Dataset?, coarseLabels: Bool,
                            maxMemory: Int, recorded: CheckpointDataset?) throws -> RunData {
        if recorded?.isImageFolder ?? (dataset == nil && isImageFolder(path)) {
            if coarseLabels {
                throw TrainingRunSetupError.flagsDoNotFitData("\(RunOption.coarseLabels.flag) applies to CIFAR-100, but \(path) is an image folder, whose classes are its class folders; leave \(RunOption.coarseLabels.flag) out.")
            }
            return try loadImageFolder(path: path, options: options, maxMemory: maxMemory, recorded: recorded)
        }
        return try loadCIFAR(path: path, options: options, dataset: dataset, coarseLabels: coarseLabels, recorded: recorded)
    }

    /// Whether `path` is read as an image folder: a folder that holds no CIFAR binary files
    /// (nor a CIFAR folder inside). A missing path is not (CIFAR's error names it).
    public static func isImageFolder(_ path: String) -> Bool {
        switch Result(catching: { () throws(CIFARError) in try CIFARFolder.resolve(path, dataset: nil, fileAccess: .system) }) {
        case .failure(.unrecognisedFolder): return true
        default: return false
        }
    }

    /// The images of an image folder's listing a run trains on and holds out: `--limit-train`
    /// then `--val-split` positions, each spread over the listing (``EvenSpread``).
    static func select(_ listing: [ImageFolder.Sample], limit: Int?, held: Int) -> (train: [ImageFolder.Sample], held: [ImageFolder.Sample]) {
        let limited = spread(listing, limit: limit)
        let heldPositions = Set(EvenSpread.positions(min(held, limited.count), of: limited.count))
        return (limited.indices.filter { !heldPositions.contains($0) }.map { limited[$0] }, heldPositions.sorted().map { limited[$0] })
    }

    /// The first `limit` images' worth of `samples`, spread over them (all when nil or more).
    static func spread(_ samples: [ImageFolder.Sample], limit: Int?) -> [ImageFolder.Sample] {
        guard let limit, limit < samples.count else { return samples }
        return EvenSpread.positions(limit, of: samples.count).map { samples[$0] }
    }

    /// - Throws: when `--val-split` would leave fewer than 2 of `count` training images.
    static func checkSplit(_ options: TrainingOptions, count: Int, path: String) throws {
        guard options.validationSplit <= count - 2 else {
            throw TrainingRunSetupError.flagsDoNotFitData("\(RunOption.validationSplit.flag) \(options.validationSplit) would hold out all but \(max(0, count - options.validationSplit)) of the \(count) training images in \(path); leave at least 2 for training (a smaller \(RunOption.validationSplit.flag), or more images with \(RunOption.limitTrain.flag)).")
        }
    }

    private static func loadCIFAR(path: String, options: TrainingOptions, dataset: Dataset?, coarseLabels: Bool,
                                  recorded: CheckpointDataset?) throws -> RunData {
        guard options.imageSize == CIFARImage.side else {
            throw TrainingRunSetupError.flagsDoNotFitData("\(RunOption.imageSize.flag) \(options.imageSize): \(path) holds CIFAR's \(CIFARImage.side)×\(CIFARImage.side) images, which are not resized; leave \(RunOption.imageSize.flag) out (or give \(CIFARImage.side)), or train on an image folder.")
        }
        var kind = dataset
        if let recorded {
            guard let recordedKind = Dataset(rawValue: recorded.name) else {
                throw TrainingRunSetupError.cannotRun("the checkpoint records an unknown data set '\(recorded.name)'.")
            }
            kind = recordedKind
        }
        let coarse = recorded?.coarseLabels ?? coarseLabels
        let train = try CIFARDataset.load(directory: path, split: .train, dataset: kind, coarseLabels: coarse, limit: options.limitTrain)
        let test = try CIFARDataset.load(directory: path, split: .test, dataset: train.dataset, coarseLabels: coarse, limit: options.limitTest)
        try checkSplit(options, count: train.count, path: path)
        let split = ImageDataset(train).holdingOut(last: options.validationSplit)
        return RunData(kind: train.dataset.rawValue, name: train.dataset.description, train: split.training,
                       validation: options.validationSplit > 0 ? split.validation : nil, test: ImageDataset(test),
                       trainImages: train.count, coarseLabels: coarse,
                       mean: options.mean ?? AugmentationOptions.cifarMean, std: options.std ?? AugmentationOptions.cifarStd,
                       computed: nil, validationRule: "the last training images",
                       notes: test.classNamesFileMissing ? [CIFARDataset.fixedClassNamesNote(folder: path)] : [])
    }

    private static func loadImageFolder(path: String, options: TrainingOptions, maxMemory: Int, recorded: CheckpointDataset?) throws -> RunData {
        let started = monotonicSeconds()
        let layout = try ImageFolderLayout.scan(path)
        if layout.evaluation == nil && options.validationSplit == 0 {
            throw layout.isSplit ? ImageFolderError.noEvaluationFolder(path: path)
                                 : ImageFolderError.needsValidationSplit(path: path, flag: RunOption.validationSplit.flag)
        }
        let listed = spread(layout.train.samples, limit: options.limitTrain)
        try checkSplit(options, count: listed.count, path: layout.train.root)
        let (trainSamples, heldSamples) = select(layout.train.samples, limit: options.limitTrain, held: options.validationSplit)
        let testSamples = spread(layout.evaluation?.samples ?? [], limit: options.limitTest)

        let loader = ImageFolderLoader(imageSide: options.imageSize)
        try loader.checkMemory(images: listed.count + testSamples.count, limit: maxMemory, path: path, flag: RunOption.maxMemory.flag)
        let classes = layout.train.classNames
        let (train, statistics) = try loader.load(trainSamples, classNames: classes)
        let validation = heldSamples.isEmpty ? nil : try loader.load(heldSamples, classNames: classes).0
        let test = layout.evaluation == nil ? nil : try loader.load(testSamples, classNames: classes).0
        let seconds = monotonicSeconds() - started
        let mean = options.mean ?? recorded?.mean ?? statistics.mean
        let std = options.std ?? recorded?.std ?? statistics.std
        let numbers = { (values: [Float]) in values.map { String(format: "%.4f", $0) }.joined(separator: ", ") }
        let source = recorded != nil ? "as the checkpoint recorded" : options.mean != nil || options.std != nil ? "\(options.mean == nil ? "mean computed, " : "")\(options.std == nil ? "std computed, " : "")--mean/--std given"
            : "computed from the \(train.count) training images at \(options.imageSize)×\(options.imageSize)"
        return RunData(kind: CheckpointDataset.imageFolderName, name: "image folder", train: train, validation: validation, test: test,
                       trainImages: listed.count, coarseLabels: false, mean: mean, std: std, computed: statistics,
                       validationRule: "spread over the classes",
                       notes: layout.notes + [
                        String(format: "read %d images in %.1f s (listed, decoded and brought to %d×%d on %d thread(s); %@ in memory)",
                               listed.count + testSamples.count, seconds, options.imageSize, options.imageSize, Parallel.threadCount,
                               MemorySize.text((listed.count + testSamples.count) * loader.bytesPerImage)),
                        "normalisation: mean \(numbers(mean)), std \(numbers(std)) (\(source))"])
    }

    /// The images of an image folder that `evaluate` scores with a model trained on
    /// `classNames` at `imageSize`: the folder's `val/` (or `test/`), or every image of a
    /// folder of one tree (`DIR/test`, say); with `heldOut`, the images a run on this folder
    /// held out with `--val-split` (and `--limit-train`), picked as training picked them.
    /// `limit` takes that many, spread over them.
    /// - Returns: the images and a phrase saying which they are.
    /// - Throws: ``ImageFolderError`` (scan, memory, decoding, and
    ///   ``ImageFolderError/classesDifferFromModel(folder:folderClasses:model:modelClasses:)``).
    public static func imageFolderEvaluation(path: String, imageSize: Int, classNames: [String], model: String,
                                             heldOut: (count: Int, limitTrain: Int?)?, limit: Int?,
                                             maxMemory: Int) throws(ImageFolderError) -> (images: ImageDataset, what: String) {
        let layout = try ImageFolderLayout.scan(path)
        var samples: [ImageFolder.Sample], what: String
        if let heldOut {
            samples = select(layout.train.samples, limit: heldOut.limitTrain, held: heldOut.count).held
            what = "the \(samples.count) images of \(layout.train.root) the run held out (--val-split \(heldOut.count), spread over the classes)"
        } else if let evaluation = layout.evaluation {
            (samples, what) = (evaluation.samples, "\(evaluation.root)")
        } else if layout.isSplit {
            throw .noEvaluationFolder(path: path)
        } else {
            (samples, what) = (layout.train.samples, "every image of \(path)")
        }
        if layout.train.classNames != classNames {
            throw .classesDifferFromModel(folder: layout.evaluation?.root ?? layout.train.root, folderClasses: layout.train.classNames,
                                          model: model, modelClasses: classNames)
        }
        samples = spread(samples, limit: limit)
        let loader = ImageFolderLoader(imageSide: imageSize)
        try loader.checkMemory(images: samples.count, limit: maxMemory, path: path, flag: RunOption.maxMemory.flag)
        return (try loader.load(samples, classNames: classNames).0, what)
    }
}
