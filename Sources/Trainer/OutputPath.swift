import Foundation
import MobileNet

/// Where a command may write a file it produces (`evaluate --plot`, `export --output` …),
/// checked before any work so a bad path costs nothing and destroys nothing.
struct OutputPath {
    /// The flag naming the file, for messages ("--output").
    let flag: String
    /// The path as given.
    let path: String

    /// The file `path` names as the file system follows it (``ResolvedPath/of(_:)``): every
    /// refusal below compares these, so a symbolic link (or a `..` after one) does not get
    /// around it.
    var target: String { ResolvedPath.of(path) }

    /// Refuses the path when it names a file the command reads (`inputs`: path and what it
    /// is, e.g. "the model being evaluated"), a file inside a data folder or inside a training
    /// checkpoint folder (a folder holding training_state.safetensors: `train` replaces and
    /// deletes those folders, and a file there could replace the checkpoint's own), a run's
    /// best model, options file or metrics log (``CheckpointLocation/runFileOverwritten(by:)``),
    /// a folder, or a file in a missing folder.
    /// - Throws: ``CommandFailure`` naming the flag and what to do.
    func check(inputs: [(path: String, role: String)], dataFolders: [String]) throws {
        let target = self.target
        if let input = inputs.first(where: { ResolvedPath.of($0.path) == target }) {
            throw CommandFailure("\(flag) \(path) is \(input.role) (\(input.path)); writing it would replace \(input.role). Give another file.")
        }
        for data in dataFolders where target.hasPrefix(ResolvedPath.of(data) + "/") {
            throw CommandFailure("\(flag) \(path) is inside the data folder \(data); give a file elsewhere.")
        }
        if let problem = AtomicFile.placeProblem(for: path) {
            throw CommandFailure("\(flag) \(path): \(problem).")
        }
        let parent = (target as NSString).deletingLastPathComponent
        if FileManager.default.fileExists(atPath: parent + "/" + TrainingCheckpoint.stateFileName) {
            throw CommandFailure("\(flag) \(path) is inside the training checkpoint folder \(parent), whose files train replaces and deletes; give a file elsewhere.")
        }
        if let reason = CheckpointLocation.runFileOverwritten(by: path) {
            throw CommandFailure("\(flag): \(reason). Give a file outside the run's checkpoints; nothing was written.")
        }
    }
}
