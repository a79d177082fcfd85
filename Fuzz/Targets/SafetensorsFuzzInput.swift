import Foundation
import MobileNet

/// The fuzz target for the safetensors reader and `MobileNetV1.load(from:prefix:strict:)`:
/// the input is a whole file. Parsing either fails with ``SafetensorsError`` or gives a file
/// whose every tensor can be read; loading it into two models (α = 1/32 and the golden
/// fixture's α = 0.25, under the prefixes "" and "init.", strict and not) either succeeds
/// or throws, without trapping.
public enum SafetensorsFuzzInput {
    /// The path used in messages.
    public static let path = "fuzz.safetensors"

    /// Models built once: α = 1/32 (every layer 1…32 channels) and α = 0.25.
    nonisolated(unsafe) static let models = [MobileNetV1(widthMultiplier: 1.0 / 32), MobileNetV1(widthMultiplier: 0.25)]

    /// Returns the parse error's case name, or "parsed N tensors" followed by the outcome of
    /// loading into the α = 1/32 model with strict checks and no prefix.
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> String {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(data: Data(bytes), path: path)
        } catch {
            return FuzzOutcome.caseName(error)
        }
        for name in file.names {
            let entry = file.entries[name]!
            let elements = entry.shape.reduce(1, *)
            switch entry.dtype {
            case .f32, .f64:
                let values = try! file.floats(name)
                precondition(values.count == elements)
                precondition(try! file.tensor(name).count == elements)
            case .i64:
                precondition(try! file.int64s(name).count == elements)
            }
        }
        var outcomes: [String] = []
        for model in models {
            for prefix in ["", "init."] {
                for strict in [true, false] {
                    do {
                        try model.load(from: file, prefix: prefix, strict: strict)
                        outcomes.append("loaded")
                    } catch {
                        outcomes.append(FuzzOutcome.caseName(error))
                    }
                }
            }
        }
        return "parsed \(file.names.count) tensors, \(outcomes[0])"
    }

    /// Small valid files to start the corpus from (the golden α = 0.25 fixture is added by
    /// `make fuzz`): the α = 1/32 state_dict bare and under "init." with an extra tensor, and
    /// one tensor of each dtype with metadata, a scalar and an empty tensor.
    public static var seeds: [(name: String, bytes: [UInt8])] {
        let model = MobileNetV1(widthMultiplier: 1.0 / 32, seed: 1)
        var prefixed = SafetensorsWriter()
        model.appendStateDict(to: &prefixed, prefix: "init.")
        prefixed.add("batch.target", shape: [2], int64s: [3, 7])
        var kinds = SafetensorsWriter()
        kinds.add("a.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, .infinity, -0.25])
        kinds.add("b.num_batches_tracked", shape: [], int64s: [42])
        kinds.add("c.lr", shape: [1], doubles: [0.004])
        kinds.add("d.empty", shape: [0, 4], floats: [])
        kinds.metadata = ["format": "pt", "epoch": "3"]
        return [("state-dict", model.stateDictWriter()), ("prefixed", prefixed), ("dtypes", kinds)]
            .map { ($0.0, [UInt8]($0.1.serialized())) }
    }
}
