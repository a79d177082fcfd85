/// Errors finding, reading, checking, writing or resuming a training checkpoint. Each
/// message names the file, folder or flag and says what to do. (Damaged safetensors
/// files and state_dict mismatches throw ``SafetensorsError`` and ``StateDictError``.)
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// Nothing exists at the path.
    case notFound(path: String)
    /// A folder or file that is not what was asked for (`what` says what it lacks).
    case notACheckpoint(path: String, what: String)
    /// A model file alone was given where a training checkpoint is needed.
    case modelOnly(path: String)
    case missingMetadata(path: String, key: String)
    case badMetadata(path: String, key: String, reason: String)
    case unsupportedVersion(path: String, version: Int, supported: Int)
    /// The files contradict each other or themselves (e.g. model and state from different saves).
    case inconsistent(path: String, reason: String)
    /// The training-state file holds tensors that are no momentum buffer of the model.
    case unexpectedTensors(path: String, names: [String])
    /// Refused to write: a tensor holds NaN or ±infinity.
    case nonFinite(tensor: String)
    /// The data now give another number of steps per epoch than when the checkpoint was made.
    case stepsPerEpochMismatch(path: String, checkpoint: Int, data: Int)
    /// A command-line flag contradicts the run stored in the checkpoint.
    case optionConflict(path: String, flag: String, given: String, checkpoint: String)
    /// A `--config` file's value (`key` in file `config`) contradicts the run stored in the checkpoint.
    case configConflict(path: String, config: String, key: String, flag: String, given: String, checkpoint: String)
    /// Saving failed; the previous checkpoint (if any) is untouched.
    case saveFailed(directory: String, file: String, reason: String, previous: String?)

    public var description: String {
        switch self {
        case .notFound(let p):
            return "\(p) does not exist. Give a checkpoint folder (with model.safetensors and training_state.safetensors), a --checkpoint-dir, or a model file."
        case .notACheckpoint(let p, let what):
            return "\(p) is not a checkpoint: \(what)."
        case .modelOnly(let p):
            return "\(p) is a single file with no training state beside it (a model at most), so a run cannot resume from it. Give the checkpoint folder (with training_state.safetensors) or the --checkpoint-dir of the run."
        case .missingMetadata(let p, let key):
            return "\(p) has no '\(key)' in its metadata; it was not written by this project's trainer or is damaged."
        case .badMetadata(let p, let key, let reason):
            return "\(p): metadata '\(key)' is invalid (\(reason)); the file is damaged."
        case .unsupportedVersion(let p, let v, let s):
            return "\(p) is training-state format version \(v); this trainer reads version \(s). Use the trainer that wrote it."
        case .inconsistent(let p, let reason):
            return "\(p) is inconsistent: \(reason). Resume from another checkpoint."
        case .unexpectedTensors(let p, let names):
            return "\(p) has \(names.count) tensor(s) that are not momentum buffers of the model: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : ""). It belongs to another model."
        case .nonFinite(let t):
            return "refusing to write a checkpoint: tensor '\(t)' holds NaN or infinity. The last good checkpoint was kept."
        case .stepsPerEpochMismatch(let p, let c, let d):
            return "\(p) was made with \(c) steps per epoch, but the training data now give \(d). Use the same data, --limit-train, --batch-size and --drop-last as the checkpointed run."
        case .optionConflict(let p, let flag, let given, let checkpoint):
            return "\(flag) \(given) contradicts the checkpoint's \(checkpoint) (\(p)). A resumed run keeps its options: drop \(flag), or start a new run without --resume."
        case .configConflict(let p, let config, let key, let flag, let given, let checkpoint):
            return "--config \(config): \"\(key)\" gives \(flag) \(given), which contradicts the checkpoint's \(checkpoint) (\(p)). A resumed run keeps its options: drop \"\(key)\" from the file or drop --config, or start a new run without --resume."
        case .saveFailed(let dir, let file, let reason, let previous):
            let kept = previous.map { "The previous checkpoint \($0) is intact." } ?? "No previous checkpoint exists there."
            return "could not save a checkpoint in \(dir): writing \(file) failed: \(reason). \(kept) Free some space or choose another --checkpoint-dir."
        }
    }
}
