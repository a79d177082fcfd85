import Foundation

extension CheckpointLocation {
    /// Why writing a new file at `path` would damage a training run, or nil when it would
    /// not: `path` is inside a checkpoint folder (one holding `training_state.safetensors`:
    /// replacing its model or state breaks `--resume`), or is the `best.safetensors` of a
    /// `--checkpoint-dir`. Symbolic links (`last`, or any on the way) are resolved first
    /// (``ResolvedPath/of(_:)``), also for a file that does not exist yet.
    public static func runFileOverwritten(by path: String) -> String? {
        let resolved = ResolvedPath.of(path) as NSString
        let folder = resolved.deletingLastPathComponent
        if FileManager.default.fileExists(atPath: folder + "/" + TrainingCheckpoint.stateFileName) {
            return "\(path) is inside the checkpoint folder \(folder); writing it would replace part of the checkpoint, and the run could no longer be resumed"
        }
        if resolved.lastPathComponent == CheckpointDirectory.bestFileName, CheckpointDirectory(path: folder).lastFolder != nil {
            return "\(path) is the best model of the run in \(folder)"
        }
        return nil
    }
}
