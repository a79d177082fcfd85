import ArgumentParser
import MobileNet

/// `mobilenet-train export`: the model alone, as a safetensors state_dict PyTorch loads
/// with strict=True into MobileNetV1 (`python/mobilenet_cpu`).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's model alone (no optimizer state) as a safetensors file for PyTorch.",
        discussion: """
        In PyTorch, with the project's module (pip install -e python/): net = mobilenet_cpu.load(FILE), or \
        net = mobilenet_cpu.MobileNetV1(num_classes=C, alpha=α); net.load_state_dict(safetensors.torch.load_file(FILE), strict=True). The file's metadata \
        records width_multiplier and num_classes.
        """
    )

    @OptionGroup var model: ModelFileOptions

    @Option(help: "The safetensors file to write (replaced atomically).")
    var output: String

    func run() throws {
        try reportingErrors {
            let loaded = try LoadedModel(checkpoint: model.checkpoint, strict: !model.nonStrict)
            try loaded.model.save(to: output, metadata: ["source": loaded.path])
            let tensors = loaded.model.namedParameters.count + loaded.model.namedBuffers.count
            print("exported \(loaded.path) (\(loaded.architecture)) to \(output): \(tensors) tensors")
            print("PyTorch (pip install -e python/ in this repository): import mobilenet_cpu; "
                  + "net = mobilenet_cpu.load(\"\(output)\")  # MobileNetV1(num_classes=\(loaded.model.numClasses), "
                  + "alpha=\(loaded.model.widthMultiplier)), strict=True, eval mode")
        }
    }
}
