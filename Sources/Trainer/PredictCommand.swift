import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train predict`: the most probable classes of PNG/JPEG files, with a trained
/// model, the images prepared exactly as its run prepared them.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict the classes of PNG/JPEG images with a trained model: the top-k class names and probabilities of each.",
        discussion: """
        Class names, image size, mean and std come from the run that trained the model (its \
        checkpoint, or the model file's metadata); --class-names, --image-size, --mean and --std \
        must agree with them, and stand in for them with a model file that records none (CIFAR-10's \
        names, 32×32 and the reference recipe's mean/std are taken for a bare 10-class file). \
        Each image is decoded, resized (shorter side to S, bilinear with antialiasing) and centre-cropped \
        to S×S as in training, normalised, and run through the BatchNorm-folded network in batches; \
        decoding runs on every thread. A folder argument is searched for .png/.jpg/.jpeg files \
        (subfolders too, in path order). An image that cannot be read is reported on standard \
        error with its reason and the others are still predicted; the exit status is then 1. \
        The report (text, json or csv) is written whole once every image is done (not at all \
        when none could be read): to --output \
        atomically, or to standard output; information lines go to standard error.
        """
    )

    @OptionGroup var model: ModelFileOptions

    @Argument(help: "Image files (PNG, JPEG) and folders of them.")
    var images: [String] = []

    @Option(help: "Classes reported per image, most probable first.")
    var topK: Int = 5

    @Option(help: "Test-time augmentation, as evaluate --tta: none, flip or flip-shift; the classes are ranked, and their probabilities given, by the mean softmax of the views.")
    var tta: TestTimeAugmentation = .none

    @Option(help: "text (one line per image), json (an array of {path, predictions: [{index, class, probability}]}) or csv (path,rank,class_index,class_name,probability).")
    var format: PredictFormat = .text

    @Option(help: "Write the report to this file (replaced atomically) instead of standard output.")
    var output: String?

    @Option(help: "The side the model was trained at; checked against the checkpoint, used for a model file that records none (default 32).")
    var imageSize: Int?

    @Option(help: "A text file of class names, one per line, index = label; checked against the checkpoint, used for a model file that records none.")
    var classNames: String?

    @Option(help: "Normalisation mean R,G,B; checked against the checkpoint, used for a model file that records none.")
    var mean: ChannelValues?

    @Option(help: "Normalisation std R,G,B; checked against the checkpoint, used for a model file that records none.")
    var std: ChannelValues?

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 100

    @Option(help: "Threads for decoding, the engine and OpenBLAS; the default is the cores this process may use (its CPU affinity and cgroup quota).")
    var threads: Int = ProcessInfoCores.active

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image file or folder to predict") }
        if topK < 1 { throw ValidationError("--top-k: must be at least 1, got \(topK)") }
        if batchSize < 1 { throw ValidationError("--batch-size: must be at least 1, got \(batchSize)") }
        if threads < 1 { throw ValidationError("--threads: must be at least 1, got \(threads)") }
        if let imageSize, !RunOption.imageSizes.contains(imageSize) {
            throw ValidationError("--image-size: must lie in \(RunOption.imageSizes.lowerBound)...\(RunOption.imageSizes.upperBound), got \(imageSize)")
        }
        if let std, !std.values.allSatisfy({ $0 > 0 }) { throw ValidationError("--std: expected three positive numbers, got \(std.values)") }
    }

    func run() throws {
        setEngineThreads(threads)
        var imageCount = 0
        let failures = try reportingErrors { () throws -> [(path: String, error: ImageError)] in
            if let output {
                try OutputPath(flag: "--output", path: output).check(
                    inputs: [(model.checkpoint, "the model"), (classNames ?? model.checkpoint, "the --class-names file")]
                        + images.map { ($0, "an image to predict") },
                    dataFolders: images)
            }
            let loaded = try LoadedModel(checkpoint: model.checkpoint, strict: !model.nonStrict, raw: model.rawWeights)
            let trainedOn = loaded.trainedOn(checkpoint: model.checkpoint)
            let names = try resolvedClassNames(classes: loaded.model.numClasses, trainedOn: trainedOn, modelPath: loaded.path)
            let transforms = try resolvedTransforms(trainedOn: trainedOn, modelPath: loaded.path)
            let paths = try inputFiles()
            printError("model: \(loaded.path) (\(loaded.architecture)); \(names.count) classes, images at \(transforms.imageSide)×\(transforms.imageSide), "
                       + "mean \(ChannelValues.text(transforms.mean)), std \(ChannelValues.text(transforms.std))\(trainedOn == nil ? " (the model records none)" : "")")
            let predictor = ImagePredictor(model: loaded.model, classNames: names, augmentation: transforms, batchSize: batchSize,
                                           testTimeAugmentation: tta)
            let results = predictor.predict(paths, topK: topK)
            imageCount = paths.count
            let report = PredictionReport(format: format).text(paths: paths, results: results)
            // With no image predicted there is nothing to report: whatever --output held is kept.
            if results.contains(where: { if case .failed = $0 { false } else { true } }) {
                if let output {
                    try AtomicFile.write(Data(report.utf8), to: output)
                } else {
                    FileHandle.standardOutput.write(Data(report.utf8))
                }
            }
            return zip(paths, results).compactMap { path, result in
                if case .failed(let error) = result { return (path, error) } else { return nil }
            }
        }
        guard failures.isEmpty else {
            for failure in failures { printError("error: \(failure.error)") }
            printError(failures.count == imageCount
                       ? "\(imageCount == 1 ? "the image could not" : "none of the \(imageCount) images could") be read (above); nothing was predicted\(output.map { ", and \($0) was not written" } ?? "")."
                       : "\(failures.count) of the images could not be read (above); the others were predicted\(output.map { " and written to \($0)" } ?? "").")
            throw ExitCode.failure
        }
        if let output { printError("predictions: \(output)") }
    }

    /// The files to predict: each file argument as given, each folder's images in path order.
    /// - Throws: for a folder that cannot be listed, or when no image is found at all.
    func inputFiles() throws -> [String] {
        var paths: [String] = []
        for input in images {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder), isFolder.boolValue else {
                paths.append(input)  // a missing or unreadable file is reported with the others
                continue
            }
            let found = try ImageFolder.imageFiles(under: input)
            if found.skipped > 0 {
                printError("note: skipped \(found.skipped) file\(found.skipped == 1 ? "" : "s") in \(input) that \(found.skipped == 1 ? "is" : "are") not .png/.jpg/.jpeg (e.g. \(found.skippedExamples.joined(separator: ", ")))")
            }
            if found.paths.isEmpty { throw CommandFailure("\(input) holds no .png/.jpg/.jpeg file; give image files or folders holding some.") }
            paths += found.paths
        }
        return paths
    }

    /// The model's class names: the run's record, checked against --class-names; else
    /// --class-names; else CIFAR-10's for a 10-class model.
    func resolvedClassNames(classes: Int, trainedOn: CheckpointDataset?, modelPath: String) throws -> [String] {
        let given = try classNames.map { try readClassNames($0) }
        if let recorded = trainedOn?.classNames, recorded.count == classes {
            if let given, given != recorded {
                throw CommandFailure("--class-names \(classNames ?? "") lists \(given.count) classes (\(given.prefix(8).joined(separator: ", "))\(given.count > 8 ? ", …" : "")), but \(modelPath) was trained on \(recorded.count) (\(recorded.prefix(8).joined(separator: ", "))\(recorded.count > 8 ? ", …" : "")); leave --class-names out to use the run's.")
            }
            return recorded
        }
        if let given {
            guard given.count == classes else {
                throw CommandFailure("--class-names \(classNames ?? "") lists \(given.count) names, but \(modelPath) has \(classes) classes; give one name per class, one per line.")
            }
            return given
        }
        if classes == Dataset.cifar10.classCount(coarseLabels: false) { return Dataset.cifar10ClassNames }
        throw CommandFailure("\(modelPath) is a \(classes)-class model file that does not record its class names; give them with --class-names FILE (one per line).")
    }

    /// The run's image size and normalisation, checked against --image-size, --mean and
    /// --std; those (or CIFAR's 32×32 and the recipe's mean/std) for a model that records none.
    func resolvedTransforms(trainedOn: CheckpointDataset?, modelPath: String) throws -> AugmentationOptions {
        guard let trainedOn else {
            return AugmentationOptions(imageSide: imageSize ?? CIFARImage.side, cropPadding: 0, horizontalFlip: false,
                                       mean: mean?.values ?? AugmentationOptions.cifarMean, std: std?.values ?? AugmentationOptions.cifarStd)
        }
        let recorded = trainedOn.evaluationAugmentation
        if let imageSize, imageSize != recorded.imageSide {
            throw CommandFailure("--image-size \(imageSize) contradicts \(modelPath), trained on \(recorded.imageSide)×\(recorded.imageSide) images; leave --image-size out to use the run's.")
        }
        for (flag, given, value) in [("--mean", mean, recorded.mean), ("--std", std, recorded.std)] {
            if let given, given.values != value {
                throw CommandFailure("\(flag) \(ChannelValues.text(given.values)) contradicts \(modelPath), trained with \(flag) \(ChannelValues.text(value)); leave \(flag) out to use the run's.")
            }
        }
        return recorded
    }
}

/// The report formats of `predict`.
enum PredictFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json, csv
}
