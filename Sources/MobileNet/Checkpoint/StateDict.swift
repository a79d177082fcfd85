import Foundation

/// Errors matching a safetensors file against a model's state_dict. Messages name the
/// file and tensor and say what to do.
public enum StateDictError: Error, CustomStringConvertible, Equatable {
    case missingTensors(path: String, names: [String])
    case unexpectedTensors(path: String, names: [String])
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    case wrongDType(path: String, tensor: String, expected: String, actual: String)
    case architectureMismatch(path: String, checkpoint: String, model: String)
    /// Not one tensor name of the file is a MobileNetV1 state_dict name (another network,
    /// or names under a prefix such as nn.DataParallel's "module."). `names`: the file's
    /// first names, sorted; `prefix`: a prefix under which the file does hold the model, if any.
    case noSharedTensors(path: String, tensorCount: Int, names: [String], prefix: String?)

    public var description: String {
        switch self {
        case .missingTensors(let p, let names):
            return "\(p) is missing \(names.count) tensor(s) the model needs: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : ""). Is it a MobileNetV1 state_dict of this project (or of its PyTorch model, python/mobilenet_cpu)?"
        case .unexpectedTensors(let p, let names):
            return "\(p) has \(names.count) tensor(s) the model does not have: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : ""). Pass --non-strict to ignore them."
        case .shapeMismatch(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' has shape \(a) but the model expects \(e)."
        case .wrongDType(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' is \(a), expected \(e)."
        case .architectureMismatch(let p, let checkpoint, let model):
            return "\(p) holds \(checkpoint), but the model was built as \(model). Build the model with the checkpoint's settings (--width-multiplier, class count) or choose another checkpoint."
        case .noSharedTensors(let p, let count, let names, let prefix):
            let listed = names.map { "'\($0)'" }.joined(separator: ", ") + (count > names.count ? ", …" : "")
            let hint = prefix.map { " Every name carries the prefix '\($0)' (as nn.DataParallel's 'module.'): save the state_dict without it, e.g. {k.removeprefix('\($0)'): v for k, v in sd.items()}." }
                ?? " It is not a MobileNetV1 state_dict of this project or the seed (whose names are 'entry.0.weight', 'stage1.0.depthConv.0.weight', …, 'linear.weight')."
            return "\(p) shares no tensor names with MobileNetV1: its \(count) tensor(s) are named \(listed).\(hint)"
        }
    }
}

extension MobileNetV1 {
    /// A short description of the architecture, for messages: "MobileNetV1 α=0.25, 10 classes".
    public var architectureDescription: String {
        "a MobileNetV1 with width multiplier \(widthMultiplier) (\(linear.inFeatures) features) and \(numClasses) classes"
    }

    /// The model's state_dict as a safetensors writer: every parameter (F32) and buffer
    /// (running statistics F32, num_batches_tracked I64 of shape []), named as the PyTorch
    /// model's `state_dict()` (`python/mobilenet_cpu`), so `model.load_state_dict(load_file(p), strict=True)` works in PyTorch.
    public func stateDictWriter(prefix: String = "") -> SafetensorsWriter {
        var writer = SafetensorsWriter()
        appendStateDict(to: &writer, prefix: prefix)
        return writer
    }

    /// Adds the state_dict's tensors to `writer`, each name prefixed.
    public func appendStateDict(to writer: inout SafetensorsWriter, prefix: String = "") {
        for (name, p) in namedParameters { writer.add(prefix + name, tensor: p.value) }
        for (name, value) in namedBuffers {
            switch value {
            case .float(let t): writer.add(prefix + name, tensor: t)
            case .int64(let s): writer.add(prefix + name, shape: [], int64s: [s.value])
            }
        }
    }

    /// Saves the model alone (no optimizer state) as safetensors, atomically.
    /// - Throws: ``FileWriteError`` naming the file; the previous file stays intact.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var writer = stateDictWriter()
        writer.metadata = metadata.merging(["format": "pt", "architecture": "MobileNetV1",
                                            "width_multiplier": "\(widthMultiplier)", "num_classes": "\(numClasses)"]) { a, _ in a }
        try writer.write(to: path)
    }

    /// Loads a state_dict from a safetensors file, as `load_state_dict`.
    ///
    /// Everything is checked before anything is copied, so a failed load leaves the
    /// model unchanged.
    /// - Parameters:
    ///   - prefix: prepended to each state_dict name when looking it up (e.g. "init.").
    ///   - strict: as PyTorch's `strict`: tensors under `prefix` that the model lacks are an error.
    /// - Throws: ``StateDictError`` (missing, unexpected, shape, dtype, or another
    ///   width/class count), or ``SafetensorsError``.
    public func load(from file: SafetensorsFile, prefix: String = "", strict: Bool = true) throws {
        let parameters = namedParameters
        let buffers = namedBuffers
        var expectedNames = Set<String>()
        var missing: [String] = []
        func check(_ name: String, shape: [Int], dtype: SafetensorsDType) throws {
            expectedNames.insert(prefix + name)
            guard let entry = file.entries[prefix + name] else { missing.append(name); return }
            if entry.shape != shape {
                // Another width or class count is named as such; a file of this architecture
                // with one odd tensor (even the classifier) gets the tensor and both shapes.
                if name == "linear.weight" || name == "entry.0.weight",
                   let architecture = try? ModelArchitecture(of: file, prefix: prefix),
                   architecture.widthMultiplier != widthMultiplier || architecture.numClasses != numClasses
                    || architecture.inputChannels != inputChannels {
                    throw StateDictError.architectureMismatch(
                        path: file.path, checkpoint: Self.describeCheckpoint(file, prefix: prefix)
                            + " ('\(prefix + name)' of shape \(entry.shape) where the model has \(shape))",
                        model: architectureDescription)
                }
                throw StateDictError.shapeMismatch(path: file.path, tensor: prefix + name, expected: shape, actual: entry.shape)
            }
            let compatible = dtype == .i64 ? entry.dtype == .i64 : entry.dtype == .f32
            if !compatible {
                throw StateDictError.wrongDType(path: file.path, tensor: prefix + name, expected: dtype.rawValue, actual: entry.dtype.rawValue)
            }
        }
        for (name, p) in parameters { try check(name, shape: p.value.shape, dtype: .f32) }
        for (name, value) in buffers {
            switch value {
            case .float(let t): try check(name, shape: t.shape, dtype: .f32)
            case .int64: try check(name, shape: [], dtype: .i64)
            }
        }
        if !missing.isEmpty {
            if let error = Self.noSharedTensors(file, prefix: prefix, modelNames: parameters.map(\.name) + buffers.map(\.name)) { throw error }
            throw StateDictError.missingTensors(path: file.path, names: missing.map { prefix + $0 })
        }
        if strict {
            let unexpected = file.names.filter { $0.hasPrefix(prefix) && !expectedNames.contains($0) }
            if !unexpected.isEmpty { throw StateDictError.unexpectedTensors(path: file.path, names: unexpected) }
        }
        for (name, p) in parameters {
            let values = try file.floats(prefix + name)
            values.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: p.value.count) }
        }
        for (name, value) in buffers {
            switch value {
            case .float(let t):
                let values = try file.floats(prefix + name)
                values.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
            case .int64(let s):
                s.value = try file.int64s(prefix + name)[0]
            }
        }
    }

    /// The error for a file none of whose names under `prefix` is one of `modelNames`, or nil
    /// when it shares at least one.
    static func noSharedTensors(_ file: SafetensorsFile, prefix: String, modelNames: [String]) -> StateDictError? {
        let fileNames = file.names.filter { $0.hasPrefix(prefix) }.sorted()
        guard !modelNames.contains(where: { file.entries[prefix + $0] != nil }) else { return nil }
        // A prefix under which the file holds the model: the part before "entry.0.weight".
        let anchor = "entry.0.weight"
        let found = fileNames.first { $0.hasSuffix("." + anchor) }.map { String($0.dropLast(anchor.count)) }
        return .noSharedTensors(path: file.path, tensorCount: fileNames.count, names: Array(fileNames.prefix(3)), prefix: found)
    }

    /// What a checkpoint's classifier says about its architecture, for messages.
    static func describeCheckpoint(_ file: SafetensorsFile, prefix: String) -> String {
        guard let linear = file.entries[prefix + "linear.weight"], linear.shape.count == 2 else {
            return "a model this project cannot identify"
        }
        let features = linear.shape[1]
        let alpha = Double(features) / Double(blockTable.last!.outChannels)
        return "a MobileNetV1 with width multiplier \(alpha) (\(features) features) and \(linear.shape[0]) classes"
    }
}
