import Foundation

/// The shape of a MobileNetV1 as a state_dict file describes it.
public struct ModelArchitecture: Equatable, Sendable, CustomStringConvertible {
    /// Where the width multiplier came from.
    public enum Source: String, Sendable {
        /// The `width_multiplier` / `num_classes` metadata this project writes.
        case metadata
        /// Inferred from the tensors' shapes (a file PyTorch wrote).
        case shapes
    }

    public var widthMultiplier: Double
    public var numClasses: Int
    public var inputChannels: Int
    public var source: Source

    public var description: String {
        "MobileNetV1 α=\(widthMultiplier), \(numClasses) classes, \(source == .metadata ? "as the file's metadata says" : "inferred from tensor shapes")"
    }

    /// Reads the architecture of the state_dict in `file` (names under `prefix`).
    ///
    /// Classes and input channels come from `linear.weight` [classes, features] and
    /// `entry.0.weight` [c(32), inputChannels, 3, 3]. The width multiplier comes from the
    /// metadata if present, otherwise from the channel counts: every layer's count c = int(n·α)
    /// bounds α to [c/n, (c+1)/n); the shortest decimal inside all those bounds is taken
    /// (0.25 for 8, 16, …, 256 channels).
    /// - Throws: ``StateDictError/noSharedTensors(path:tensorCount:names:prefix:)`` if no
    ///   name is a MobileNetV1 one, ``StateDictError/missingTensors(path:names:)`` if the file lacks the tensors
    ///   needed, ``StateDictError/architectureMismatch(path:checkpoint:model:)`` if no α gives its
    ///   channel counts, ``CheckpointError/badMetadata(path:key:reason:)``.
    public init(of file: SafetensorsFile, prefix: String = "") throws {
        let needed = ["entry.0.weight", "linear.weight"] + MobileNetV1.blockTable.map { "\($0.name).pointConv.0.weight" }
        let missing = needed.filter { file.entries[prefix + $0] == nil }
        if !missing.isEmpty {
            let modelNames = MobileNetV1(numClasses: 1, widthMultiplier: 1.0 / 32).namedParameters.map(\.name)
            if let error = MobileNetV1.noSharedTensors(file, prefix: prefix, modelNames: modelNames) { throw error }
            throw StateDictError.missingTensors(path: file.path, names: missing.map { prefix + $0 })
        }
        let entry = try file.entry(prefix + "entry.0.weight").shape
        let linear = try file.entry(prefix + "linear.weight").shape
        guard entry.count == 4, linear.count == 2, entry[1] >= 1, linear[0] >= 1 else {
            throw StateDictError.architectureMismatch(path: file.path, checkpoint: "tensors of shapes \(entry) (entry.0.weight) and \(linear) (linear.weight)", model: "a MobileNetV1")
        }
        numClasses = linear[0]
        inputChannels = entry[1]
        let meta = MetadataReader(file: file)
        if file.metadata["width_multiplier"] != nil {
            widthMultiplier = try meta.double("width_multiplier")
            guard widthMultiplier > 0 else {
                throw CheckpointError.badMetadata(path: file.path, key: "width_multiplier", reason: "\(widthMultiplier) is not positive")
            }
            source = .metadata
            return
        }
        // (channels at α = 1, channels in the file) for every layer whose count α sets.
        var pairs = [(MobileNetV1.entryChannels, entry[0])]
        for spec in MobileNetV1.blockTable {
            pairs.append((spec.outChannels, try file.entry(prefix + "\(spec.name).pointConv.0.weight").shape.first ?? 0))
        }
        let lower = pairs.map { Double($0.1) / Double($0.0) }.max()!
        let upper = pairs.map { Double($0.1 + 1) / Double($0.0) }.min()!
        let fits = { (alpha: Double) in pairs.allSatisfy { MobileNetV1.scaledChannels($0.0, alpha) == $0.1 } }
        let middle = (lower + upper) / 2
        guard lower < upper, let alpha = (0...6).lazy.map({ Self.rounded(middle, decimals: $0) }).first(where: fits) ?? (fits(middle) ? middle : nil) else {
            throw StateDictError.architectureMismatch(path: file.path, checkpoint: "channel counts \(pairs.map(\.1)) that no width multiplier gives", model: "a MobileNetV1")
        }
        widthMultiplier = alpha
        source = .shapes
    }

    /// The shortest decimals first: `value` rounded to `decimals` places.
    static func rounded(_ value: Double, decimals: Int) -> Double {
        let scale = pow(10, Double(decimals))
        return (value * scale).rounded() / scale
    }
}

extension MobileNetV1 {
    /// Builds the model a state_dict file describes (see ``ModelArchitecture``) and loads it.
    /// - Parameter strict: as PyTorch's `load_state_dict(strict=)`: tensors the model lacks are an error.
    /// - Throws: ``StateDictError``, ``SafetensorsError``, ``CheckpointError``.
    public convenience init(contentsOf file: SafetensorsFile, strict: Bool = true) throws {
        let architecture = try ModelArchitecture(of: file)
        self.init(numClasses: architecture.numClasses, inputChannels: architecture.inputChannels,
                  widthMultiplier: architecture.widthMultiplier)
        try load(from: file, strict: strict)
    }
}
