import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// The one table of a run's options (RunOption.all) against what reads it: `train`'s
/// command line, TrainingOptions' properties and JSON keys, the flags applied over a base.
@Suite struct RunOptionTests {
    /// The OPTIONS section of `train --help` (wide enough not to wrap): the flag as listed
    /// ("--batch-size", "--flip/--no-flip") → its name and help text, as one line (a long
    /// name puts the help on the next line).
    static func helpLines() -> [String: String] {
        let help = TrainCommand.helpMessage(columns: 100_000)
        var lines: [String: String] = [:]
        var current: String?
        for line in help.split(separator: "\n") {
            if line.hasPrefix("  -") {
                let flag = String(line.split(separator: " ")[0])
                current = flag == "-h," ? nil : flag
                if let current { lines[current] = String(line) }
            } else if let flag = current, line.hasPrefix("   ") {
                lines[flag]! += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                current = nil
            }
        }
        return lines
    }

    @Test func everyEntryIsAnOptionOfTrainAndEveryOptionAnEntry() {
        let help = Self.helpLines()
        let entries = RunOption.all.filter(\.isCommandLine)
        #expect(Set(help.keys) == Set(entries.map(\.flag)))
        for entry in entries {
            guard let line = help[entry.flag] else { continue }
            #expect(line.contains(entry.help), "train --help for \(entry.flag) is not the table's: \(line)")
        }
        #expect(Set(RunOption.all.map(\.name)).count == RunOption.all.count, "a flag name is listed twice")
    }

    /// The table's properties are exactly TrainingOptions' stored properties, and the keys of
    /// the options JSON recorded in checkpoints (which stay as they were).
    @Test func everyRecordedOptionHasOneEntry() throws {
        let labels = Mirror(reflecting: TrainingOptions()).children.compactMap(\.label)
        let properties = RunOption.all.compactMap(\.property)
        #expect(properties.sorted() == labels.sorted())
        var limited = TrainingOptions()
        (limited.limitTrain, limited.limitTest) = (100, 10)  // nil limits (and mean, std) are left out of the JSON
        (limited.mean, limited.std) = ([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(limited)) as? [String: Any])
        #expect(json.keys.sorted() == properties.sorted())
        #expect(Set(properties).isSuperset(of: ["recipe", "epochs", "batchSize", "maxLearningRate", "noWeightDecayKinds", "validationSplit",
                                                "horizontalFlip", "cropSchedule", "testTimeAugmentation", "numClasses", "syncBatchNorm"]))
        for entry in RunOption.all {
            #expect((entry.property != nil) == (entry.resume == .recorded), "\(entry.flag): recorded exactly when it has a property")
        }
    }

    /// Each entry's key path reads the property its name says (checked on options whose
    /// values all differ from one another's defaults).
    @Test func eachEntrysKeyPathIsItsProperty() throws {
        var options = TrainingOptions()
        options.recipe = "fast"; options.epochs = 7; options.batchSize = 9; options.testBatchSize = 11
        options.maxLearningRate = 0.3; options.weightDecay = 0.002; options.noWeightDecayKinds = ["bias"]; options.nesterov = true
        options.divFactor = 13; options.finalDivFactor = 17; options.pctStart = 0.19; options.baseMomentum = 0.23
        options.maxMomentum = 0.29; options.labelSmoothing = 0.31; options.widthMultiplier = 0.37; options.numClasses = 41
        options.seed = 43; options.limitTrain = 47; options.limitTest = 53; options.dropLast = true; options.validationSplit = 59
        options.imageSize = 61; options.mean = [0.1, 0.2, 0.3]; options.std = [0.4, 0.5, 0.6]; options.cropPadding = 3; options.horizontalFlip = false; options.cropSchedule = CropSchedule(phases: [.init(size: 20, epochs: 2)])
        options.testTimeAugmentation = .flip; options.syncBatchNorm = true; options.emaDecay = 0.67; options.emaEvery = 71; options.bnRecalibrate = 73
        options.bnRecalibrateTransform = .train
        options.schedule = .linear; options.warmupPct = 0.79; options.finalLearningRateFactor = 0.83; options.flipMode = .alternate; options.evalEvery = 89
        options.cutout = 97
        #expect(options.differences(from: TrainingOptions()).count == RunOption.all.compactMap(\.property).count,
                "every option differs from its default")
        let mirrored = Dictionary(uniqueKeysWithValues: Mirror(reflecting: options).children.map { ($0.label!, TrainingOptions.text($0.value)) })
        for entry in RunOption.all {
            guard let property = entry.property, let keyPath = entry.keyPath else { continue }
            #expect(TrainingOptions.text(options[keyPath: keyPath]) == mirrored[property], "\(entry.flag)")
        }
    }

    /// Flags not given keep the base's values (a resumed checkpoint's), optional ones included.
    @Test func flagsNotGivenKeepTheBase() throws {
        var base = TrainingOptions()
        (base.limitTrain, base.limitTest, base.epochs, base.nesterov, base.syncBatchNorm) = (320, 100, 2, true, true)
        (base.horizontalFlip, base.noWeightDecayKinds, base.testTimeAugmentation, base.validationSplit) = (false, ["bias"], .flip, 64)
        #expect(try RecipeTests.trainCommand([]).options(over: base) == base)
        #expect(try RecipeTests.trainCommand(["--threads", "1", "--metrics", "m.jsonl"]).options(over: base) == base)
    }

    /// Each recorded option given on the command line reaches the options: a value other
    /// than the default, typed as a user would.
    @Test func everyRecordedFlagSetsItsOption() throws {
        let examples: [String: [String]] = [
            "--recipe": ["--recipe", "fast"], "--val-split": ["--val-split", "10"], "--crop-padding": ["--crop-padding", "2"],
            "--image-size": ["--image-size", "64"], "--mean": ["--mean", "0.5,0.4,0.3"], "--std": ["--std", "0.25,0.25,0.25"],
            "--flip/--no-flip": ["--no-flip"], "--crop-schedule": ["--crop-schedule", "24:1"],
            "--tta": ["--tta", "flip", "--val-split", "10"], "--epochs": ["--epochs", "5"], "--batch-size": ["--batch-size", "64"],
            "--test-batch-size": ["--test-batch-size", "50"], "--max-lr": ["--max-lr", "0.2"], "--weight-decay": ["--weight-decay", "1e-4"],
            "--no-weight-decay-on": ["--no-weight-decay-on", "bias"], "--nesterov": ["--nesterov"],
            "--label-smoothing": ["--label-smoothing", "0.1"], "--div-factor": ["--div-factor", "10"],
            "--final-div-factor": ["--final-div-factor", "100"], "--pct-start": ["--pct-start", "0.25"],
            "--base-momentum": ["--base-momentum", "0.8"], "--max-momentum": ["--max-momentum", "0.9"],
            "--width-multiplier": ["--width-multiplier", "0.5"], "--seed": ["--seed", "7"], "--limit-train": ["--limit-train", "100"],
            "--limit-test": ["--limit-test", "100"], "--drop-last": ["--drop-last"], "--sync-bn": ["--sync-bn"],
            "--ema-decay": ["--ema-decay", "0.999"], "--ema-every": ["--ema-every", "4", "--ema-decay", "0.999"], "--bn-recalibrate": ["--bn-recalibrate", "512"],
            "--bn-recalibrate-transform": ["--bn-recalibrate-transform", "train", "--bn-recalibrate", "512"],
            "--schedule": ["--schedule", "linear"], "--warmup-pct": ["--warmup-pct", "0.1", "--schedule", "linear"],
            "--final-lr-factor": ["--final-lr-factor", "0.01", "--schedule", "linear"], "--flip-mode": ["--flip-mode", "alternate"], "--eval-every": ["--eval-every", "3"],
            "--cutout": ["--cutout", "8"],
        ]
        let recordedFlags = RunOption.all.filter { $0.isCommandLine && $0.property != nil }.map(\.flag)
        #expect(Set(examples.keys) == Set(recordedFlags), "an example for each recorded flag")
        for (flag, arguments) in examples {
            let command = try RecipeTests.trainCommand(arguments)
            let changed = command.options(over: TrainCommand.defaults).differences(from: TrainCommand.defaults).map(\.flag)
            #expect(changed.contains(flag), "\(arguments) changed \(changed)")
        }
    }

    /// The defaults shown in the help are the recipe of the original PyTorch tutorial's values.
    @Test func helpShowsTheDefaults() {
        #expect(RunOption.batchSize.help == "Training batch size (default 128).")
        #expect(RunOption.epochs.help.hasSuffix("(default 60)."))
        #expect(RunOption.maxLearningRate.help.hasSuffix("(default 0.1)."))
        #expect(RunOption.flip.help.hasSuffix("(default on)."))
        #expect(RunOption.nesterov.help == "Nesterov momentum.")
    }
}

/// `--sync-bn` is part of a run: recorded in its checkpoints, kept on resume, and a resume
/// that contradicts it is refused.
@Suite struct SyncBatchNormResumeTests {
    @Test func optionsSavedBeforeSyncBatchNormWasRecordedDecodeAsFalse() throws {
        var json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as? [String: Any])
        #expect(json["syncBatchNorm"] as? Bool == false)
        json.removeValue(forKey: "syncBatchNorm")
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(decoded.syncBatchNorm == false && decoded == TrainingOptions())
    }

    @Test func aResumeThatContradictsSyncBatchNormIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            func start(_ name: String, _ flags: [String]) throws -> String {
                let command = try RecipeTests.trainCommand(["--data", folder, "--epochs", "2", "--batch-size", "8", "--width-multiplier", "0.125",
                                                            "--checkpoint-dir", folder + "/" + name] + flags)
                let setup = try TrainCommand.setUp(command.request)
                #expect(setup.options.syncBatchNorm == flags.contains("--sync-bn"))
                return try #require(try setup.run.saveCheckpoint())
            }
            func resume(_ name: String, _ flags: [String]) throws -> TrainingRunSetup {
                try TrainCommand.setUp(try RecipeTests.trainCommand(["--resume", folder + "/" + name] + flags).request)
            }
            let plain = try start("plain", [])
            #expect(throws: CheckpointError.optionConflict(path: plain + "/training_state.safetensors", flag: "--sync-bn", given: "true", checkpoint: "false")) {
                _ = try resume("plain", ["--sync-bn"])
            }
            #expect(try resume("plain", []).options.syncBatchNorm == false)
            _ = try start("synced", ["--sync-bn"])
            #expect(try resume("synced", []).options.syncBatchNorm == true, "a resume keeps the run's --sync-bn")
            #expect(try resume("synced", ["--sync-bn"]).options.syncBatchNorm == true)

            // A checkpoint written before --sync-bn was recorded resumes as a run without it.
            let state = try SafetensorsFile(contentsOfFile: plain + "/training_state.safetensors")
            let recorded = try #require(state.metadata["options"])
            var options = try #require(try JSONSerialization.jsonObject(with: Data(recorded.utf8)) as? [String: Any])
            #expect(options["syncBatchNorm"] as? Bool == false)
            options.removeValue(forKey: "syncBatchNorm")
            var writer = SafetensorsWriter()
            for name in state.names { writer.add(name, tensor: try state.tensor(name)) }
            writer.metadata = state.metadata
            writer.metadata["options"] = String(decoding: try JSONSerialization.data(withJSONObject: options), as: UTF8.self)
            try writer.write(to: plain + "/training_state.safetensors")
            #expect(try resume("plain", []).options.syncBatchNorm == false)
            #expect(throws: CheckpointError.self) { _ = try resume("plain", ["--sync-bn"]) }
        }
    }
}
