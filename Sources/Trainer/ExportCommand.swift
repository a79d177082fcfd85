import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train export`: the model alone, as a safetensors state_dict PyTorch loads
/// with strict=True into MobileNetV1 (`python/mobilenet_cpu`), or as an ONNX graph for inference runtimes.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's model alone: a safetensors state_dict for PyTorch, or an ONNX graph for onnxruntime and other runtimes.",
        discussion: """
        The format follows --output's extension (.safetensors or .onnx); --format, if given, \
        must agree with it. \
        safetensors, in PyTorch with the project's module (pip install -e python/): net = mobilenet_cpu.load(FILE), or \
        net = mobilenet_cpu.MobileNetV1(num_classes=C, alpha=α); net.load_state_dict(safetensors.torch.load_file(FILE), strict=True); \
        the file's metadata records width_multiplier and num_classes. \
        ONNX (opset 13): input 'input' [N, 3, S, S] float32 (S the run's image size, 32 for CIFAR), \
        normalised outside the graph as (pixel / 255 - mean) / std; output 'logits' [N, classes]; \
        BatchNorm folded into the convolutions; the class names, image size, mean and std the run \
        recorded in the model's metadata_props (docs/onnx.md; CIFAR's for a model that records none).
        """
    )

    @OptionGroup var model: ModelFileOptions

    @Option(help: "The file to write (replaced atomically): NAME.safetensors or NAME.onnx.")
    var output: String

    @Option(help: "safetensors or onnx; taken from --output's extension when omitted.")
    var format: ExportFormat?

    @Option(help: "A text file of class names, one per line, index = label (ONNX metadata). Default: the names the checkpoint's run recorded; CIFAR-10's for a bare 10-class model file.")
    var classNames: String?

    /// The format to write: --output's extension, checked against --format.
    /// - Throws: ``ValidationError`` for an unknown extension or a --format that contradicts it.
    func resolvedFormat() throws -> ExportFormat {
        let ext = (output as NSString).pathExtension.lowercased()
        guard let byName = ExportFormat(rawValue: ext) else {
            let known = ExportFormat.allCases.map { ".\($0.rawValue)" }.joined(separator: " or ")
            throw ValidationError("--output \(output): unknown extension '\(ext.isEmpty ? "" : "." + ext)'; name the file \(known) (the format follows the extension).")
        }
        if let format, format != byName {
            throw ValidationError("--format \(format.rawValue) contradicts --output \(output), a .\(byName.rawValue) name; give a .\(format.rawValue) file name or drop --format.")
        }
        return byName
    }

    func validate() throws {
        _ = try resolvedFormat()
    }

    func run() throws {
        let format = try resolvedFormat()
        try reportingErrors {
            let run = try checkOutput()
            let loaded = try LoadedModel(checkpoint: model.checkpoint, strict: !model.nonStrict, raw: model.rawWeights)
            switch format {
            case .safetensors:
                var metadata = ["source": loaded.path]
                if let trainedOn = loaded.trainedOn(checkpoint: model.checkpoint), let json = String(data: try JSONEncoder().encode(trainedOn), encoding: .utf8) {
                    metadata[CheckpointDataset.metadataKey] = json
                }
                try loaded.model.save(to: output, metadata: metadata)
                let tensors = loaded.model.namedParameters.count + loaded.model.namedBuffers.count
                print("exported \(loaded.path) (\(loaded.architecture)) to \(output): \(tensors) tensors")
                print("PyTorch (pip install -e python/ in this repository): import mobilenet_cpu; "
                      + "net = mobilenet_cpu.load(\"\(output)\")  # MobileNetV1(num_classes=\(loaded.model.numClasses), "
                      + "alpha=\(loaded.model.widthMultiplier)), strict=True, eval mode")
            case .onnx:
                let metadata = try onnxMetadata(loaded, run: run)
                let onnx = loaded.model.onnxModel(metadata: metadata)
                try AtomicFile.write(Data(onnx.encoded.bytes), to: output)
                let side = metadata.imageSize
                print("exported \(loaded.path) (\(loaded.architecture)) to \(output): ONNX opset \(onnx.opsetVersion), "
                      + "\(onnx.graph.nodes.count) nodes, input 'input' [N, 3, \(side), \(side)] (normalised with mean \(ChannelValues.text(metadata.mean)), std \(ChannelValues.text(metadata.std))), output 'logits' [N, \(loaded.model.numClasses)]")
                print("onnxruntime: InferenceSession(\"\(output)\").run([\"logits\"], {\"input\": x})[0]  (x = (pixels / 255 - mean) / std, NCHW float32)")
            }
        }
    }

    /// --output must not be the exported model itself. ``checkOutput()`` calls it after
    /// ``OutputPath``'s checks (a run's files, a folder, a file in a missing one).
    func refuseOverwriting(input: String) throws {
        if ResolvedPath.of(output) == ResolvedPath.of(input) {
            throw CommandFailure("--output \(output) is the model being exported; give another file.")
        }
    }

    /// Refuses --output before the model is read (a bad path costs nothing): the model file
    /// itself, the --class-names file, a file inside the run's data folder (recorded in the
    /// checkpoint) or the default one, inside a training checkpoint folder, a folder, or a
    /// file in a missing folder (``OutputPath``).
    /// - Returns: the training checkpoint of the run the model belongs to, if any.
    /// - Throws: ``CommandFailure`` naming --output, or the checkpoint's own location errors.
    func checkOutput() throws -> TrainingCheckpoint? {
        let modelPath = try CheckpointLocation.modelFile(for: model.checkpoint, raw: model.rawWeights)
        let run = EvaluateCommand.recordedRun(of: model.checkpoint, modelPath: modelPath)
        var inputs = [(path: modelPath, role: "the model being exported")]
        if let classNames { inputs.append((classNames, "the --class-names file")) }
        let dataFolders = [run?.dataset.dataPath, TrainCommand.defaultData].compactMap { $0 }
        try OutputPath(flag: "--output", path: output).check(inputs: inputs, dataFolders: dataFolders)
        try refuseOverwriting(input: modelPath)
        return run
    }

    /// The ONNX metadata: the class names (``exportedClassNames(classes:run:)``) and the image
    /// size, mean and std the model's run recorded (its file's metadata or its checkpoint),
    /// CIFAR's 32×32 and the reference recipe's mean/std for a model that records none.
    func onnxMetadata(_ loaded: LoadedModel, run: TrainingCheckpoint?) throws -> ONNXModelMetadata {
        let trainedOn = loaded.trainedOn(checkpoint: model.checkpoint) ?? run?.dataset
        let names = try exportedClassNames(classes: loaded.model.numClasses, run: run, recorded: trainedOn?.classNames)
        guard let trainedOn else { return .cifar(classNames: names) }
        return ONNXModelMetadata(classNames: names, imageSize: trainedOn.resolvedImageSize, mean: trainedOn.resolvedMean, std: trainedOn.resolvedStd)
    }

    /// --class-names, else the names the checkpoint's run recorded, else CIFAR-10's for 10 classes.
    /// - Throws: when the count does not match the model's classes, or no names are known.
    func exportedClassNames(classes: Int, run: TrainingCheckpoint?, recorded: [String]? = nil) throws -> [String] {
        if let classNames {
            let names = try readClassNames(classNames)
            guard names.count == classes else {
                throw CommandFailure("--class-names \(classNames) lists \(names.count) names, but the model has \(classes) classes; give one name per class, one per line.")
            }
            return names
        }
        if let recorded = recorded ?? run?.dataset.classNames, recorded.count == classes { return recorded }
        if classes == Dataset.cifar10.classCount(coarseLabels: false) { return Dataset.cifar10ClassNames }
        throw CommandFailure("\(model.checkpoint) is a \(classes)-class model file that does not record its class names; give them with --class-names FILE (one per line).")
    }
}

/// The file formats `export` writes, named by their file extensions.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    case safetensors, onnx
}
