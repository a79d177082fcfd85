import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train evaluate`: a model's test loss, top-1/top-5 accuracy, per-class
/// accuracy and confusion matrix on a CIFAR test set or an image folder.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a model on the CIFAR test set, an image folder (its val/ or test/), or a run's validation images: loss, top-1 and top-5 accuracy, per-class accuracy, confusion matrix.",
        discussion: """
        The width multiplier and class count come from the file (this project's metadata, or the \
        tensor shapes of a state_dict PyTorch saved). Class names, image size, mean and std come \
        from the run that trained the model (its checkpoint, or the model file's metadata): an \
        image folder's images are resized and centre-cropped to that size and normalised as in \
        training; a model without that record is taken as CIFAR's (32×32, the reference recipe's \
        CIFAR-10 mean/std). Eval mode (BatchNorm running statistics). A 20-class model on a \
        CIFAR-100 folder is evaluated on the coarse superclasses. An image folder whose class \
        folders are not the model's classes is refused, naming both.
        """
    )

    @OptionGroup var model: ModelFileOptions

    @Option(help: "CIFAR folder (or its parent) holding the test batch and the class names, or an image folder: DIR with train/ and val/ (or test/) evaluates val/ (or test/), a folder of class folders alone (DIR/test) evaluates all its images (default: the data folder the run recorded (a CIFAR folder when it still exists), else \(TrainCommand.defaultData)).")
    var data: String?

    @Option(help: "Image folders: the most memory the decoded images may take (512M, 4G, …); refused before decoding when more is needed (default half the physical memory).")
    var maxMemory: MemoryArgument?

    @Option(help: "cifar10 or cifar100; recognised from the files when omitted.")
    var dataset: Dataset?

    @Option(help: "The images evaluated: test (the test batch), or validation (the last --val-split training images, in file order: the validation set of a run trained with that --val-split).")
    var split: EvaluationSplit = .test

    @Option(name: .customLong("val-split"), help: "With --split validation: how many training images the run held out (its --val-split). Read from the run when the checkpoint belongs to one (and then checked against it); needed for a bare model file.")
    var valSplit: Int?

    @Option(help: "Write the confusion matrix as an SVG heat map to this file.")
    var plot: String?

    @Option(help: "Evaluation batch size.")
    var batchSize: Int = 100

    @Option(help: "Test-time augmentation: none, flip (each image and its left-right mirror; predictions and loss use the mean of their two softmax probability vectors, p̄, the loss being −log p̄[target]), or flip-shift (six views with equal weights: the image and its mirror, each as is and shifted diagonally by +1/+1 and −1/−1 pixel, padded with black).")
    var tta: TestTimeAugmentation = .none

    @Option(name: .customLong("limit-test"), help: "Evaluate the first N images of the split only (the name train gives the same limit; with --split validation, the first N validation images).")
    var limitTest: Int?

    /// `--limit`, the former name of `--limit-test`, still accepted.
    @Option(name: .customLong("limit"), help: .hidden)
    var limitAlias: Int?

    /// The images evaluated at most: `--limit-test` or its alias `--limit`.
    var limit: Int? { limitTest ?? limitAlias }

    @Option(help: "Write the logits [N, classes] (F32) and labels [N] (I64) of the images evaluated to this safetensors file (for scripts/interop_check.py); the images as given, not mirrored, also with --tta flip.")
    var dumpLogits: String?

    @Option(help: "Threads for the engine and OpenBLAS; the default is the cores this process may use (its CPU affinity and cgroup quota).")
    var threads: Int = ProcessInfoCores.active

    @Option(name: .customLong("bn-recalibrate"), help: "Before evaluating, recompute every BatchNorm's running statistics over N of the run's training images (never its held-out ones), exactly as train --bn-recalibrate N would have at the end of the run (the same seeded sample, batches and transform), read from the folder the run trained on (else --data); needs the run's checkpoint. The files are not changed.")
    var bnRecalibrate: Int?

    @Option(name: .customLong("bn-recalibrate-transform"), help: "With --bn-recalibrate: eval (normalise only) or train (the run's random crop and flip at full size), as train's flag of that name (default: the run's when it recalibrated, else eval).")
    var bnRecalibrateTransform: RecalibrationTransform?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size: must be at least 1, got \(batchSize)") }
        if limitTest != nil, limitAlias != nil { throw ValidationError("--limit is the former name of --limit-test: give one of them") }
        if let limit, limit < 1 { throw ValidationError("--limit-test: must be at least 1, got \(limit)") }
        if threads < 1 { throw ValidationError("--threads: must be at least 1, got \(threads)") }
        if let count = bnRecalibrate, count < 1 { throw ValidationError("--bn-recalibrate: must be at least 1, got \(count)") }
        if bnRecalibrateTransform != nil, bnRecalibrate == nil {
            throw ValidationError("--bn-recalibrate-transform: applies only with --bn-recalibrate N; give --bn-recalibrate N or drop --bn-recalibrate-transform")
        }
        switch (split, valSplit) {
        case (.validation, let count?) where count < 1: throw ValidationError("--val-split: must be at least 1, got \(count)")
        case (.test, _?): throw ValidationError("--val-split: only with --split validation")
        default: break
        }
    }

    /// The held-out images of a run: how many (`--val-split`) of its first `limitTrain`
    /// training images (all when nil), as `train` cut them.
    struct HeldOut {
        var count: Int
        var limitTrain: Int?
    }

    /// For --split validation: the run's recorded --val-split (and --limit-train) when the
    /// checkpoint belongs to a run (a checkpoint folder, a --checkpoint-dir, or a file in
    /// one such as best.safetensors), checked against --val-split if given; else --val-split.
    /// - Throws: when they disagree, when the run held nothing out, or when neither is known.
    func heldOut(modelPath: String) throws -> HeldOut {
        guard let run = Self.recordedRun(of: model.checkpoint, modelPath: modelPath) else {
            guard let valSplit else {
                throw CommandFailure("--val-split: \(model.checkpoint) does not record the run it came from; give the --val-split the run was trained with.")
            }
            print("note: \(model.checkpoint) does not record its run, so --val-split \(valSplit) is not checked against it")
            return HeldOut(count: valSplit, limitTrain: nil)
        }
        let recorded = run.options.validationSplit
        guard recorded > 0 else {
            throw CommandFailure("\(model.checkpoint) was trained on all its training images (no --val-split), so it has no validation set; evaluate it on the test set.")
        }
        if let valSplit, valSplit != recorded {
            throw CommandFailure("--val-split \(valSplit) contradicts the run in \(run.folder), which held out \(recorded); omit --val-split to use the run's.")
        }
        return HeldOut(count: recorded, limitTrain: run.options.limitTrain)
    }

    /// The training checkpoint whose run `checkpoint` belongs to, or nil for a bare model file.
    static func recordedRun(of checkpoint: String, modelPath: String) -> TrainingCheckpoint? {
        var folder = try? CheckpointLocation.trainingFolder(for: checkpoint)
        if folder == nil {
            // A model file saved beside a run's checkpoints (best.safetensors): that run's last.
            let parent = (modelPath as NSString).deletingLastPathComponent
            folder = CheckpointDirectory(path: parent.isEmpty ? "." : parent).lastFolder
        }
        return folder.flatMap { try? TrainingCheckpoint(folder: $0) }
    }

    /// The data folder: --data, else the image folder the run recorded, else the CIFAR folder
    /// the run recorded when it still exists, else the default CIFAR folder.
    func dataPath(trainedOn: CheckpointDataset?) -> String {
        if let data { return data }
        guard let recorded = trainedOn?.dataPath else { return TrainCommand.defaultData }
        if trainedOn?.isImageFolder == true || FileManager.default.fileExists(atPath: recorded) { return recorded }
        return TrainCommand.defaultData
    }

    /// The images of --split (the test batch, or the run's held-out training images),
    /// the first --limit-test of them.
    func images(dataset: Dataset?, coarseLabels: Bool, heldOut: HeldOut?, data: String? = nil) throws -> CIFARDataset {
        let data = data ?? dataPath(trainedOn: nil)
        guard split == .validation, let heldOut else {
            return try CIFARDataset.load(directory: data, split: .test, dataset: dataset, coarseLabels: coarseLabels, limit: limit)
        }
        let train = try CIFARDataset.load(directory: data, split: .train, dataset: dataset, coarseLabels: coarseLabels,
                                          limit: heldOut.limitTrain)
        guard heldOut.count < train.count else {
            throw CommandFailure("--val-split \(heldOut.count) leaves none of the \(train.count) training images in \(data) for training; give the --val-split the run was trained with.")
        }
        let validation = train.holdingOut(last: heldOut.count).validation
        guard let limit, limit < validation.count else { return validation }
        return validation.holdingOut(last: validation.count - limit).training
    }

    /// The images to evaluate, as training prepared them.
    struct EvaluationImages {
        var images: ImageDataset
        var augmentation: AugmentationOptions
        /// The "data: …" line.
        var line: String
        var notes: [String] = []
    }

    /// A CIFAR split at 32×32, normalised as the model's run recorded (the recipe's by default).
    func cifarImages(_ loaded: LoadedModel, trainedOn: CheckpointDataset?, held: HeldOut?, dataPath: String) throws -> EvaluationImages {
        let classes = loaded.model.numClasses
        if let trainedOn, trainedOn.resolvedImageSize != CIFARImage.side {
            throw CommandFailure("\(loaded.path) was trained on \(trainedOn.resolvedImageSize)×\(trainedOn.resolvedImageSize) images, but \(dataPath) holds CIFAR's 32×32 ones. Evaluate it on an image folder (--data DIR).")
        }
        var test = try images(dataset: nil, coarseLabels: false, heldOut: held, data: dataPath)
        if test.dataset == .cifar100 && classes == Dataset.cifar100.classCount(coarseLabels: true) {
            test = try images(dataset: .cifar100, coarseLabels: true, heldOut: held, data: dataPath)
        }
        guard test.classNames.count == classes else {
            throw CommandFailure("\(loaded.path) is a model with \(classes) classes, but the \(test.dataset) \(split) set in \(dataPath) has \(test.classNames.count). Give the data set the model was trained on.")
        }
        let heldText = held.map { h in
            " (the last \(h.count) of the " + (h.limitTrain.map { "first \($0) " } ?? "") + "training images)"
        } ?? ""
        return EvaluationImages(images: ImageDataset(test), augmentation: trainedOn?.evaluationAugmentation ?? .evaluation,
                                line: "data: \(test.dataset) \(split) set\(heldText), \(test.count) images from \(dataPath)",
                                notes: test.classNamesFileMissing ? [CIFARDataset.fixedClassNamesNote(folder: dataPath)] : [])
    }

    /// An image folder's images at the run's size, normalised as the run recorded.
    func folderImages(_ loaded: LoadedModel, trainedOn: CheckpointDataset?, held: HeldOut?, dataPath: String) throws -> EvaluationImages {
        let classes = loaded.model.numClasses
        let description = trainedOn ?? CheckpointDataset(name: Dataset.cifar10.rawValue, coarseLabels: false,
                                                         classNames: classes == 10 ? Dataset.cifar10ClassNames : [], trainImages: 0)
        guard description.classNames.count == classes else {
            throw CommandFailure("\(loaded.path) does not record the classes, image size and normalisation it was trained with. Evaluate the run's checkpoint (its folder, or best.safetensors beside it).")
        }
        let (images, what) = try RunData.imageFolderEvaluation(
            path: dataPath, imageSize: description.resolvedImageSize, classNames: description.classNames, model: loaded.path,
            heldOut: held.map { ($0.count, $0.limitTrain) }, limit: limit, maxMemory: maxMemory?.bytes ?? RunOption.defaultMaxMemory)
        let augmentation = description.evaluationAugmentation
        return EvaluationImages(images: images, augmentation: augmentation,
                                line: "data: image folder, \(what): \(images.count) images at \(augmentation.imageSide)×\(augmentation.imageSide), "
                                    + "normalised with mean \(ChannelValues.text(augmentation.mean)) and std \(ChannelValues.text(augmentation.std))\(trainedOn == nil ? " (CIFAR's, the model records none)" : "")",
                                notes: trainingImagesNote(loaded, trainedOn: trainedOn, held: held, dataPath: dataPath))
    }

    /// A note when the images scored are every image of the one tree the model was trained
    /// on (no val/ or test/ beside it, no --split validation): they include its training images.
    func trainingImagesNote(_ loaded: LoadedModel, trainedOn: CheckpointDataset?, held: HeldOut?, dataPath: String) -> [String] {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        guard held == nil, let trainedOn, let trainedPath = trainedOn.dataPath, absolute(trainedPath) == absolute(dataPath),
              let layout = try? ImageFolderLayout.scan(dataPath), !layout.isSplit else { return [] }
        // The checkpoint's trainImages counts the images before the run held its --val-split out.
        let heldCount = Self.recordedRun(of: model.checkpoint, modelPath: loaded.path)?.options.validationSplit
        let trainedText = heldCount.map { "the \(trainedOn.trainImages - $0) images" } ?? "the images"
        let heldText = heldCount.map { "the \($0) it held out" } ?? "the images it held out"
        return ["note: every image of \(dataPath) includes \(trainedText) \(model.checkpoint) trained on, so these figures are not a test of it; "
                + "--split validation scores \(heldText), or give --data a folder of other images."]
    }

    func run() throws {
        setEngineThreads(threads)
        try reportingErrors {
            let loaded = try LoadedModel(checkpoint: model.checkpoint, strict: !model.nonStrict, raw: model.rawWeights)
            let trainedOn = loaded.trainedOn(checkpoint: model.checkpoint)
            let dataPath = dataPath(trainedOn: trainedOn)
            try refuseOverwriting(inputs: [loaded.path], dataFolder: dataPath)
            let held = split == .validation ? try heldOut(modelPath: loaded.path) : nil
            let classes = loaded.model.numClasses
            let test = RunData.isImageFolder(dataPath)
                ? try folderImages(loaded, trainedOn: trainedOn, held: held, dataPath: dataPath)
                : try cifarImages(loaded, trainedOn: trainedOn, held: held, dataPath: dataPath)
            let recalibrated = try recalibrate(loaded, dataPath: dataPath)
            print("model: \(loaded.path) (\(loaded.architecture))")
            let augmentation = tta == .flip ? "\ntest-time augmentation: flip (mean softmax of each image and its left-right mirror)"
                : tta == .flipShift ? "\ntest-time augmentation: flip-shift (mean softmax of 6 views: mirror × shift 0, +1/+1, −1/−1)" : ""
            test.notes.forEach { print($0) }
            print("\(test.line)\(augmentation)\(recalibrated.map { "\n\($0)" } ?? "")\n")

            let loader = BatchLoader(dataset: test.images, configuration: .evaluation(batchSize: batchSize, augmentation: test.augmentation))
            var logits: [Float] = [], labels: [Int64] = []
            let tally = EvaluationTally.evaluate(model: loaded.model, loader: loader, testTimeAugmentation: tta) { batchLogits, batch in
                guard dumpLogits != nil else { return }
                logits += batchLogits.nchwArray()
                labels += batch.labels.map { Int64($0) }
            }
            let classNames = test.images.classNames
            print(tally.text(classNames: classNames, set: split.rawValue), terminator: "")
            if let plot {
                let title = "Confusion matrix: \((loaded.path as NSString).lastPathComponent), \(split) (\(test.images.count) images)\(tta == .none ? "" : ", \(tta.rawValue) TTA")"
                try AtomicFile.write(Data(ConfusionHeatMap.svg(tally.confusion, classNames: classNames, title: title).utf8), to: plot)
                print("\nheat map: \(plot)")
            }
            if let dumpLogits {
                var writer = SafetensorsWriter()
                writer.add("logits", shape: [labels.count, classes], floats: logits)
                writer.add("labels", shape: [labels.count], int64s: labels)
                writer.metadata = ["model": loaded.path, "data": dataPath, "images": "\(labels.count)"]
                try writer.write(to: dumpLogits)
                print("logits: \(dumpLogits) [\(labels.count), \(classes)]")
            }
        }
    }
}

extension EvaluateCommand {
    /// Refuses --plot or --dump-logits naming a file the command reads (the model), the
    /// same file twice, or a path ``OutputPath/check(inputs:dataFolders:)`` refuses (inside
    /// the data folder or a checkpoint folder, a folder, a file in a missing folder) — all
    /// before any work, so a bad path costs no evaluation pass.
    func refuseOverwriting(inputs: [String], dataFolder: String? = nil) throws {
        let dataFolder = dataFolder ?? dataPath(trainedOn: nil)
        let outputs = [("--plot", plot), ("--dump-logits", dumpLogits)].compactMap { flag, path in
            path.map { OutputPath(flag: flag, path: $0) }
        }
        for (index, output) in outputs.enumerated() {
            try output.check(inputs: inputs.map { ($0, "the model being evaluated") }, dataFolders: [dataFolder])
            if let other = outputs[..<index].first(where: { $0.target == output.target }) {
                throw CommandFailure("\(output.flag) and \(other.flag) name the same file, \(output.path); give two files.")
            }
        }
    }
}

extension TestTimeAugmentation: ExpressibleByArgument {}

/// The images `evaluate` reads: the test batch, or a run's held-out training images.
enum EvaluationSplit: String, CaseIterable, ExpressibleByArgument {
    case test, validation
}
