import Foundation

/// What a `--resume` or `--checkpoint` path names: a checkpoint folder, a
/// `--checkpoint-dir` (its `last` checkpoint), or a file.
public enum CheckpointLocation {
    /// The training-checkpoint folder for `--resume PATH`: PATH itself if it holds
    /// `training_state.safetensors`; the folder `PATH/last` points to; or the folder of a
    /// `model.safetensors` / `training_state.safetensors` file given directly.
    /// - Throws: ``CheckpointError/notFound(path:)``, ``CheckpointError/modelOnly(path:)``
    ///   for a model file without training state, ``CheckpointError/notACheckpoint(path:what:)``.
    public static func trainingFolder(for path: String) throws -> String {
        switch try kind(of: path) {
        case .file:
            let name = (path as NSString).lastPathComponent
            let folder = (path as NSString).deletingLastPathComponent
            let state = (folder.isEmpty ? "." : folder) + "/" + TrainingCheckpoint.stateFileName
            let inFolder = [TrainingCheckpoint.modelFileName, TrainingCheckpoint.stateFileName, TrainingCheckpoint.emaFileName].contains(name)
            if inFolder && FileManager.default.fileExists(atPath: state) { return folder.isEmpty ? "." : folder }
            throw CheckpointError.modelOnly(path: path)
        case .folder:
            if exists(path + "/" + TrainingCheckpoint.stateFileName) { return path }
            if let last = CheckpointDirectory(path: path).lastFolder { return last }
            if exists(path + "/" + TrainingCheckpoint.modelFileName) {
                throw CheckpointError.modelOnly(path: path + "/" + TrainingCheckpoint.modelFileName)
            }
            throw CheckpointError.notACheckpoint(path: path, what: "it holds neither \(TrainingCheckpoint.stateFileName) nor a '\(CheckpointDirectory.lastLinkName)' checkpoint")
        }
    }

    /// The model file for `--checkpoint PATH`: PATH itself if it is a file; a checkpoint
    /// folder's `ema.safetensors` (the moving average of a run with --ema-decay) when it has
    /// one and `raw` is false, else its `model.safetensors`; the same in a `--checkpoint-dir`'s `last`.
    /// - Throws: ``CheckpointError/notFound(path:)``, ``CheckpointError/notACheckpoint(path:what:)``.
    public static func modelFile(for path: String, raw: Bool = false) throws -> String {
        switch try kind(of: path) {
        case .file:
            return path
        case .folder:
            let folder = exists(path + "/" + TrainingCheckpoint.modelFileName) ? path : CheckpointDirectory(path: path).lastFolder
            guard let folder, exists(folder + "/" + TrainingCheckpoint.modelFileName) else {
                throw CheckpointError.notACheckpoint(path: path, what: "it holds neither \(TrainingCheckpoint.modelFileName) nor a '\(CheckpointDirectory.lastLinkName)' checkpoint")
            }
            let averaged = folder + "/" + TrainingCheckpoint.emaFileName
            return !raw && exists(averaged) ? averaged : folder + "/" + TrainingCheckpoint.modelFileName
        }
    }

    /// The `--checkpoint-dir` a checkpoint folder belongs to (its parent, if that has `last`).
    public static func directory(of folder: String) -> CheckpointDirectory? {
        let parent = CheckpointDirectory(path: (folder as NSString).deletingLastPathComponent)
        return parent.lastFolder != nil ? parent : nil
    }

    private enum Kind { case file, folder }

    private static func kind(of path: String) throws -> Kind {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CheckpointError.notFound(path: path)
        }
        return isFolder.boolValue ? .folder : .file
    }

    private static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}
