import ArgumentParser
import Foundation
import MobileNet

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// An error of the world explained by its message (printed as "error: <message>").
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs `body`; an error of the world (a bad file, a damaged checkpoint, a failed write)
/// is printed as "error: …" to standard error and ends the program with status 1.
/// Exits and usage errors pass through to ArgumentParser.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}

/// The model named by a `--checkpoint FILE|DIR` flag, with its architecture from the
/// file's metadata or its tensor shapes.
struct LoadedModel {
    let path: String
    let model: MobileNetV1
    let architecture: ModelArchitecture
    let file: SafetensorsFile

    /// - Parameter strict: false ignores tensors the model does not have (--non-strict).
    /// - Parameter raw: a checkpoint folder's trained weights rather than their moving average (--raw-weights).
    init(checkpoint: String, strict: Bool, raw: Bool = false) throws {
        path = try CheckpointLocation.modelFile(for: checkpoint, raw: raw)
        file = try SafetensorsFile(contentsOfFile: path)
        architecture = try ModelArchitecture(of: file)
        model = try MobileNetV1(contentsOf: file, strict: strict)
    }

    /// What the model was trained on: the description its file carries (runs save it in
    /// every model file), else that of the run the checkpoint belongs to; nil when neither
    /// says (a PyTorch file, a model saved before it was recorded).
    func trainedOn(checkpoint: String) -> CheckpointDataset? {
        CheckpointDataset.recorded(in: file) ?? EvaluateCommand.recordedRun(of: checkpoint, modelPath: path)?.dataset
    }
}

/// Options shared by the commands that read a model.
struct ModelFileOptions: ParsableArguments {
    @Option(help: "A model file (safetensors, this project's or PyTorch's state_dict), a checkpoint folder, or a --checkpoint-dir (its last checkpoint).")
    var checkpoint: String

    @Flag(help: "Ignore tensors the model does not have (PyTorch's strict=False); missing tensors are still an error.")
    var nonStrict = false

    @Flag(help: "With a checkpoint folder or --checkpoint-dir of a run trained with --ema-decay: use the trained weights (model.safetensors) instead of their moving average (ema.safetensors, the default).")
    var rawWeights = false
}

/// Class names from a text file, one per line (blank lines and surrounding spaces dropped),
/// as `--class-names` takes them.
/// - Throws: ``CommandFailure`` naming the file when it cannot be read.
func readClassNames(_ path: String) throws -> [String] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw CommandFailure("--class-names \(path): cannot read it (\(error.localizedDescription)); give a text file of class names, one per line.")
    }
    return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
