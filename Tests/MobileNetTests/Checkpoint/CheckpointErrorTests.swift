import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// Every way a checkpoint can be wrong ends in one error of the exact kind, naming the file
/// and tensor (and both shapes or values), and the model is left as it was.
@Suite struct CheckpointErrorTests {
    static let path = "run/model.safetensors"

    /// A tiny model (α = 1/8), the same each time, and its state_dict bytes.
    static var model: MobileNetV1 { MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 2) }
    static var bytes: [UInt8] { Array(model.stateDictWriter().serialized()) }

    /// The state_dict with `change` applied to the writer's tensors before serialising.
    static func stateDict(replacing name: String? = nil, with add: ((inout SafetensorsWriter) -> Void)? = nil,
                          model: MobileNetV1 = CheckpointErrorTests.model) -> SafetensorsFile {
        var writer = SafetensorsWriter()
        for (n, p) in model.namedParameters where n != name { writer.add(n, tensor: p.value) }
        for (n, value) in model.namedBuffers where n != name {
            switch value {
            case .float(let t): writer.add(n, tensor: t)
            case .int64(let s): writer.add(n, shape: [], int64s: [s.value])
            }
        }
        add?(&writer)
        return try! SafetensorsFile(data: writer.serialized(), path: path)
    }

    /// Expects loading `file` into a fresh α = 1/8 model to throw `expected`, with a message
    /// naming the file and `details`, and the model to keep its weights.
    func expectLoad<E: Error & Equatable & CustomStringConvertible>(
        _ file: SafetensorsFile, strict: Bool = true, throws expected: E, mentioning details: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let target = MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 9)
        let before = CheckpointFixture.bits(target)
        do {
            try target.load(from: file, strict: strict)
            Issue.record("expected \(expected), but the load succeeded", sourceLocation: sourceLocation)
        } catch let error as E {
            #expect(error == expected, sourceLocation: sourceLocation)
            for text in [Self.path] + details {
                #expect(error.description.contains(text), "\"\(error)\" does not mention \(text)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
        }
        #expect(CheckpointFixture.bits(target) == before, "a failed load changes nothing", sourceLocation: sourceLocation)
    }

    func parse(_ bytes: [UInt8]) -> SafetensorsError? {
        do {
            _ = try SafetensorsFile(data: Data(bytes), path: Self.path)
            return nil
        } catch {
            return error as? SafetensorsError
        }
    }

    @Test func truncatedFileIsReported() {
        #expect(parse(Array(Self.bytes.prefix(5))) == .truncated(path: Self.path, size: 5))
        // Cut inside the data: the last tensor's offsets now reach past the end.
        let cut = Self.bytes.count - 100
        guard case .offsetsOutOfRange(Self.path, _, _, _, _)? = parse(Array(Self.bytes.prefix(cut))) else {
            Issue.record("a file cut in its data must report out-of-range offsets")
            return
        }
    }

    /// torch.save output (Fixtures/pytorch, written by scripts/make_pickle_fixtures.py) is
    /// recognised by its signature, and the message says how to save safetensors instead.
    @Test(arguments: [("state_dict_zip.pt", "a zip archive of pickles"), ("state_dict_legacy.pt", "a pickle")])
    func aPyTorchPickleIsRecognised(file: String, format: String) throws {
        let path = Fixtures.url("pytorch/" + file).path
        #expect(throws: SafetensorsError.pyTorchPickle(path: path, format: format)) { try SafetensorsFile(contentsOfFile: path) }
        #expect(SafetensorsError.pyTorchPickle(path: path, format: format).description
            .contains("save_file(model.state_dict(), \"model.safetensors\")"))
        // A safetensors file whose header length happens to start 0x80 0x02 is still read.
        var writer = SafetensorsWriter()
        writer.add("x", shape: [1], floats: [1])
        var bytes = Array(writer.serialized())
        let length = Int(bytes[0]) | Int(bytes[1]) << 8
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(0x0280).littleEndian, Array.init))
        bytes.insert(contentsOf: Array(repeating: UInt8(ascii: " "), count: 0x0280 - length), at: 8 + length)
        #expect(throws: Never.self) { try SafetensorsFile(data: Data(bytes), path: Self.path) }
    }

    @Test func headerLengthBeyondTheFileIsReported() {
        var bytes = Self.bytes.prefix(64).map { $0 }
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init))
        #expect(parse(bytes) == .headerTooLarge(path: Self.path, headerLength: 1 << 40, fileSize: 64))
        #expect(parse(bytes)?.description.contains("1099511627776") == true)
    }

    /// An exported ONNX model passed where a checkpoint goes is named as such.
    @Test func onnxFileGivenAsCheckpointIsNamed() {
        var bytes = Self.bytes.prefix(64).map { $0 }
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init))
        let error = SafetensorsError.headerTooLarge(path: "runs/a/model.onnx", headerLength: 1 << 40, fileSize: 64)
        #expect(error.description.hasPrefix("runs/a/model.onnx is an ONNX model"))
        #expect(parse(bytes)?.description.contains("ONNX") == false)
    }

    @Test func headerThatIsNotJSONIsReported() {
        var bytes = Self.bytes
        bytes[8] = UInt8(ascii: "#")
        #expect(parse(bytes) == .headerNotJSON(path: Self.path, reason: "JSON parse error"))
    }

    @Test func overlappingAndOutOfRangeOffsetsAreReported() {
        let overlap = FuzzRegressionTests.safetensors(
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12)
        #expect(parse(overlap) == .offsetsOverlap(path: Self.path, first: "a", second: "b"))
        let outside = FuzzRegressionTests.safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8)
        #expect(parse(outside) == .offsetsOutOfRange(path: Self.path, tensor: "a", begin: 0, end: 16, dataSize: 8))
    }

    @Test func wrongDtypeNamesTheTensorAndBothTypes() {
        let name = "stage1.0.depthConv.1.running_var"
        let count = Self.model.namedBuffers.first { $0.name == name }.map { value -> Int in
            if case .float(let t) = value.value { return t.count } else { return 0 }
        } ?? 0
        let file = Self.stateDict(replacing: name) { $0.add(name, shape: [count], int64s: Array(repeating: 1, count: count)) }
        expectLoad(file, throws: StateDictError.wrongDType(path: Self.path, tensor: name, expected: "F32", actual: "I64"),
                   mentioning: [name, "I64", "F32"])
    }

    @Test func wrongShapeNamesTheTensorAndBothShapes() {
        let name = "stage2.1.pointConv.1.weight"
        let file = Self.stateDict(replacing: name) { $0.add(name, shape: [65], floats: Array(repeating: 1, count: 65)) }
        expectLoad(file, throws: StateDictError.shapeMismatch(path: Self.path, tensor: name, expected: [64], actual: [65]),
                   mentioning: [name, "[64]", "[65]"])
    }

    @Test func missingTensorIsNamed() {
        let file = Self.stateDict(replacing: "linear.bias")
        expectLoad(file, throws: StateDictError.missingTensors(path: Self.path, names: ["linear.bias"]), mentioning: ["linear.bias"])
    }

    @Test func extraTensorIsAnErrorUnlessNonStrict() throws {
        let file = Self.stateDict { $0.add("fc.extra", shape: [2], floats: [1, 2]) }
        expectLoad(file, throws: StateDictError.unexpectedTensors(path: Self.path, names: ["fc.extra"]), mentioning: ["fc.extra", "--non-strict"])
        let target = MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 9)
        try target.load(from: file, strict: false)
        #expect(CheckpointFixture.bits(target) == CheckpointFixture.bits(Self.model))
    }

    @Test func anotherWidthOrClassCountIsNamedAsSuch() {
        let wider = Self.stateDict(model: MobileNetV1(numClasses: 10, widthMultiplier: 0.25))
        expectLoad(wider, throws: StateDictError.architectureMismatch(
            path: Self.path, checkpoint: "a MobileNetV1 with width multiplier 0.25 (256 features) and 10 classes ('entry.0.weight' of shape [8, 3, 3, 3] where the model has [4, 3, 3, 3])",
            model: Self.model.architectureDescription), mentioning: ["width multiplier 0.25", "width multiplier 0.125"])
        let hundred = Self.stateDict(model: MobileNetV1(numClasses: 100, widthMultiplier: 0.125))
        expectLoad(hundred, throws: StateDictError.architectureMismatch(
            path: Self.path, checkpoint: "a MobileNetV1 with width multiplier 0.125 (128 features) and 100 classes ('linear.weight' of shape [100, 128] where the model has [10, 128])",
            model: Self.model.architectureDescription), mentioning: ["100 classes", "10 classes"])
    }

    /// A file of the model's own architecture with only the classifier of another shape names
    /// that tensor and both shapes (as compare does), not another width multiplier.
    @Test func anOddClassifierAloneIsNamedWithBothShapes() {
        let file = Self.stateDict(replacing: "linear.weight") { $0.add("linear.weight", shape: [10, 64], floats: Array(repeating: 0, count: 640)) }
        expectLoad(file, throws: StateDictError.shapeMismatch(path: Self.path, tensor: "linear.weight", expected: [10, 128], actual: [10, 64]),
                   mentioning: ["'linear.weight'", "[10, 64]", "[10, 128]"])
    }

    /// A file with none of the model's names says so (not "missing 164 tensors"), and spots a
    /// prefix such as nn.DataParallel's "module.".
    @Test func aFileSharingNoTensorNamesSaysSo() throws {
        var other = SafetensorsWriter()
        other.add("features.0.weight", shape: [2], floats: [1, 2])
        other.add("classifier.weight", shape: [1], floats: [3])
        let file = try SafetensorsFile(data: other.serialized(), path: Self.path)
        let expected = StateDictError.noSharedTensors(path: Self.path, tensorCount: 2, names: ["classifier.weight", "features.0.weight"], prefix: nil)
        expectLoad(file, throws: expected, mentioning: ["shares no tensor names", "'classifier.weight'"])
        #expect(throws: expected) { try ModelArchitecture(of: file) }
        var wrapped = SafetensorsWriter()
        Self.model.appendStateDict(to: &wrapped, prefix: "module.")
        let prefixed = try SafetensorsFile(data: wrapped.serialized(), path: Self.path)
        #expect(throws: StateDictError.noSharedTensors(path: Self.path, tensorCount: 164, names: ["module.entry.0.weight", "module.entry.1.bias", "module.entry.1.num_batches_tracked"], prefix: "module.")) {
            try Self.model.load(from: prefixed)
        }
        #expect(StateDictError.noSharedTensors(path: Self.path, tensorCount: 164, names: [], prefix: "module.").description.contains("removeprefix('module.')"))
    }

    @Test func resumeFromSomethingThatIsNoTrainingCheckpointIsExplained() throws {
        try CIFARFixture.withFolder { folder in
            #expect(throws: CheckpointError.notFound(path: folder + "/nothing")) {
                try CheckpointLocation.trainingFolder(for: folder + "/nothing")
            }
            #expect(throws: CheckpointError.notACheckpoint(path: folder, what: "it holds neither training_state.safetensors nor a 'last' checkpoint")) {
                try CheckpointLocation.trainingFolder(for: folder)
            }
            try Self.model.save(to: folder + "/best.safetensors")
            #expect(throws: CheckpointError.modelOnly(path: folder + "/best.safetensors")) {
                try CheckpointLocation.trainingFolder(for: folder + "/best.safetensors")
            }
            #expect(try CheckpointLocation.modelFile(for: folder + "/best.safetensors") == folder + "/best.safetensors")
        }
    }

    /// A checkpoint folder whose model comes from another save than its training state.
    @Test func modelAndStateFromDifferentSavesAreRefused() throws {
        try CIFARFixture.withFolder { folder in
            let run = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                directory: folder + "/a")
            let early = try #require(try run.saveCheckpoint())
            _ = try run.run(shouldStop: CheckpointFixture.stop(after: 1, run))
            let late = try #require(CheckpointDirectory(path: folder + "/a").lastFolder)
            try FileManager.default.createDirectory(atPath: folder + "/mixed", withIntermediateDirectories: false)
            try FileManager.default.copyItem(atPath: late + "/training_state.safetensors", toPath: folder + "/mixed/training_state.safetensors")
            try run.session.model.save(to: folder + "/mixed/model.safetensors", metadata: ["global_step": "0"])
            #expect(throws: CheckpointError.inconsistent(path: folder + "/mixed", reason: "model.safetensors is from global step 0 but training_state.safetensors from 1 (files from different saves)")) {
                try TrainingCheckpoint(folder: folder + "/mixed")
            }
            #expect(!FileManager.default.fileExists(atPath: early), "the older folder was removed when the newer one was published")
        }
    }

    @Test func damagedTrainingStateMetadataIsNamed() throws {
        try CIFARFixture.withFolder { folder in
            let run = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                directory: folder)
            let saved = try #require(try run.saveCheckpoint())
            let statePath = saved + "/training_state.safetensors"
            let state = try SafetensorsFile(contentsOfFile: statePath)
            func rewrite(_ change: (inout [String: String]) -> Void) throws {
                var writer = SafetensorsWriter()
                for name in state.names { writer.add(name, tensor: try state.tensor(name)) }
                writer.metadata = state.metadata
                change(&writer.metadata)
                try writer.write(to: statePath)
            }
            try rewrite { $0["format_version"] = "7" }
            #expect(throws: CheckpointError.unsupportedVersion(path: statePath, version: 7, supported: 1)) { try TrainingCheckpoint(folder: saved) }
            try rewrite { $0["format_version"] = "1"; $0["options"] = nil }
            #expect(throws: CheckpointError.missingMetadata(path: statePath, key: "options")) { try TrainingCheckpoint(folder: saved) }
            try rewrite { $0["options"] = "{\"epochs\": 2}" }
            #expect(throws: CheckpointError.badMetadata(path: statePath, key: "options", reason: "not the JSON of TrainingOptions")) {
                try TrainingCheckpoint(folder: saved)
            }
            // Options that decode but are out of range (a crop size 0 would trap building the loader).
            var options = CheckpointFixture.options(widthMultiplier: 0.125)
            options.cropSchedule = CropSchedule(phases: [.init(size: 0, epochs: 1)])
            let text = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
            try rewrite { $0["options"] = text }
            #expect(throws: CheckpointError.badMetadata(path: statePath, key: "options",
                                                        reason: "--crop-schedule: crop sizes must lie in 1...32 (--image-size), got 0 in 0:1")) {
                try TrainingCheckpoint(folder: saved)
            }
        }
    }

    @Test func optionDifferencesNameTheFlagAndBothValues() {
        let recorded = CheckpointFixture.options()
        var given = recorded
        given.epochs = 3
        given.maxLearningRate = 0.2
        given.limitTrain = 2000
        given.noWeightDecayKinds = ["depthwise"]
        #expect(given.differences(from: recorded) == [
            .init(flag: "--epochs", value: "3", otherValue: "2"),
            .init(flag: "--max-lr", value: "0.2", otherValue: "0.05"),
            .init(flag: "--no-weight-decay-on", value: "depthwise", otherValue: "none"),
            .init(flag: "--limit-train", value: "2000", otherValue: "none"),
        ])
        #expect(recorded.differences(from: recorded).isEmpty)
    }

    /// `train --resume DIR` with a flag that contradicts the checkpoint stops before training,
    /// naming the flag and both values; flags that agree, --threads and --data are accepted.
    @Test func resumeWithAContradictingFlagIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let command = try #require(try MobileNetTrain.parseAsRoot([
                "train", "--data", folder, "--epochs", "2", "--batch-size", "8", "--width-multiplier", "0.125",
                "--checkpoint-dir", folder + "/ck",
            ]) as? TrainCommand)
            let setup = try TrainCommand.setUp(command.request)
            let saved = try #require(try setup.run.saveCheckpoint())
            func resume(_ flags: [String]) throws -> TrainingRunSetup {
                let command = try #require(try MobileNetTrain.parseAsRoot(["train", "--resume", folder + "/ck"] + flags) as? TrainCommand)
                return try TrainCommand.setUp(command.request)
            }
            let statePath = saved + "/training_state.safetensors"
            #expect(throws: CheckpointError.optionConflict(path: statePath, flag: "--epochs", given: "3", checkpoint: "2")) {
                _ = try resume(["--epochs", "3"])
            }
            #expect(throws: CheckpointError.optionConflict(path: statePath, flag: "--width-multiplier", given: "0.25", checkpoint: "0.125")) {
                _ = try resume(["--width-multiplier", "0.25", "--epochs", "2"])
            }
            #expect(throws: CheckpointError.optionConflict(path: statePath, flag: "--dataset", given: "cifar100", checkpoint: "cifar10")) {
                _ = try resume(["--dataset", "cifar100"])
            }
            let resumed = try resume(["--epochs", "2", "--threads", "1", "--data", folder])
            #expect(resumed.options == setup.options && resumed.checkpoint?.folder == saved)
            #expect(resumed.run.checkpoints?.path == folder + "/ck")
            #expect(resumed.metricsPath == nil, "a run without --metrics resumes without one")
        }
    }

    /// `train --resume` without --metrics appends to the metrics file the run recorded;
    /// --metrics given on resume wins; checkpoints from before it was recorded decode as none.
    @Test func resumeKeepsTheRunsMetricsFile() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let command = try #require(try MobileNetTrain.parseAsRoot([
                "train", "--data", folder, "--epochs", "2", "--batch-size", "8", "--width-multiplier", "0.125",
                "--checkpoint-dir", folder + "/ck", "--metrics", folder + "/m.jsonl",
            ]) as? TrainCommand)
            let setup = try TrainCommand.setUp(command.request)
            #expect(setup.metricsPath == folder + "/m.jsonl")
            _ = try #require(try setup.run.saveCheckpoint())
            func resume(_ flags: [String]) throws -> TrainingRunSetup {
                let command = try #require(try MobileNetTrain.parseAsRoot(["train", "--resume", folder + "/ck"] + flags) as? TrainCommand)
                return try TrainCommand.setUp(command.request)
            }
            #expect(try resume([]).metricsPath == folder + "/m.jsonl")
            #expect(try resume(["--metrics", folder + "/other.jsonl"]).metricsPath == folder + "/other.jsonl")
        }
        let old = #"{"name":"cifar10","coarseLabels":false,"classNames":["a"],"trainImages":4,"dataPath":"d"}"#
        let decoded = try JSONDecoder().decode(CheckpointDataset.self, from: Data(old.utf8))
        #expect(decoded.metricsPath == nil && decoded.dataPath == "d")
    }
}
