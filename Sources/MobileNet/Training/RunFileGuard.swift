import Foundation

extension CheckpointLocation {
    /// Why writing a new file at `path` would damage a training run, or nil when it would
    /// not: `path` is inside a checkpoint folder (one holding `training_state.safetensors`:
    /// replacing its model or state breaks `--resume`), is the `best.safetensors` or the
    /// `options.json` of a `--checkpoint-dir`, or is a metrics log (``isMetricsLog(_:)``).
    /// Symbolic links (`last`, or any on the way) are resolved first
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
        if resolved.lastPathComponent == RunConfigFile.fileName, CheckpointDirectory(path: folder).lastFolder != nil {
            return "\(path) is the options file of the run in \(folder), which --config and --resume read"
        }
        if isMetricsLog(resolved as String) {
            return "\(path) is a training run's metrics log, which plot reads"
        }
        return nil
    }

    /// Whether the file at `path` begins with a metrics line (``MetricsLine``) of a kind
    /// `train` writes: the options line, or a step line in files of earlier versions; false
    /// for a missing or unreadable file.
    static func isMetricsLog(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let start = (try? handle.read(upToCount: 1 << 16)) ?? Data()
        guard let end = start.firstIndex(of: UInt8(ascii: "\n")),
              let line = try? MetricsLine(jsonText: String(decoding: start[..<end], as: UTF8.self)) else { return false }
        if case .other = line { return false }
        return true
    }

    /// What of the run that writes to `directory` a file at `path` would replace, or nil when
    /// nothing: the folder itself, its best model, its options file, its `last` link, or a
    /// checkpoint folder (`step-N`, a save in progress) or a file in one. Paths are compared
    /// resolved (``ResolvedPath/of(_:)``: `DIR/last/x` is a file in the folder `last` points
    /// to); the folder need not exist yet.
    public static func runEntry(at path: String, in directory: CheckpointDirectory) -> String? {
        let folder = ResolvedPath.of(directory.path), target = ResolvedPath.of(path)
        if target == folder { return "the checkpoint folder itself" }
        guard target.hasPrefix(folder + "/"), let entry = target.dropFirst(folder.count + 1).split(separator: "/").first else { return nil }
        switch String(entry) {
        case CheckpointDirectory.bestFileName: return "the run's best model (\(entry))"
        case RunConfigFile.fileName: return "the run's options file (\(entry))"
        case CheckpointDirectory.lastLinkName: return "the link to the run's newest checkpoint (\(entry))"
        default:
            return CheckpointDirectory.isSaveEntry(entry) ? "inside the checkpoint folder \(entry)" : nil
        }
    }
}
