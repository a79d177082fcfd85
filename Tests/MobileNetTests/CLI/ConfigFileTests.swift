import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `train --config FILE.json` and the `options.json` a run writes beside its checkpoints.
@Suite struct ConfigFileTests {
    static func write(_ text: String, in folder: String, name: String = "c.json") -> String {
        let path = folder + "/" + name
        precondition(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "could not write \(path)")
        return path
    }

    @Test func fileValuesApplyAndTheCommandLineOverridesThem() throws {
        try CIFARFixture.withFolder { folder in
            let path = Self.write(#"{"recipe": "fast", "batch-size": 16, "maxLearningRate": 0.2, "cropSchedule": {"phases": [{"size": 20, "epochs": 3}]}, "limitTrain": 500}"#, in: folder)
            let fromFile = try RecipeTests.trainCommand(["--config", path]).options(over: TrainCommand.defaults)
            #expect(fromFile.recipe == "fast" && fromFile.epochs == 42, "the file's recipe is the base")
            #expect(fromFile.batchSize == 16 && fromFile.maxLearningRate == 0.2 && fromFile.limitTrain == 500)
            #expect(fromFile.cropSchedule == CropSchedule(phases: [.init(size: 20, epochs: 3)]))
            let overridden = try RecipeTests.trainCommand(["--config", path, "--batch-size", "32"]).options(over: TrainCommand.defaults)
            #expect(overridden.batchSize == 32 && overridden.maxLearningRate == 0.2 && overridden.recipe == "fast" && overridden.epochs == 42)
        }
    }

    /// The file is a layer between the recipe and the command line: --epochs given on the
    /// command line keeps each of the file's crop phases at its share of the run, as it does
    /// for a recipe's, unless the command line sets the schedule too; --epochs in the file
    /// rescales the file's recipe's phases.
    @Test func theCommandLinesEpochsRescaleTheFilesCropSchedule() throws {
        try CIFARFixture.withFolder { folder in
            let full = Self.write(#"{"recipe": "fast", "epochs": 42, "cropSchedule": {"phases": [{"size": 24, "epochs": 22}]}}"#, in: folder)
            func options(_ arguments: [String]) throws -> TrainingOptions {
                try RecipeTests.trainCommand(arguments).options(over: TrainCommand.defaults)
            }
            let shortened = try options(["--config", full, "--epochs", "21"])
            #expect(shortened.epochs == 21 && shortened.cropSchedule == CropSchedule(phases: [.init(size: 24, epochs: 11)]))
            #expect(shortened == (try options(["--recipe", "fast", "--epochs", "21"])))
            #expect(try options(["--config", full]).cropSchedule == CropSchedule(phases: [.init(size: 24, epochs: 22)]))
            let given = try options(["--config", full, "--epochs", "21", "--crop-schedule", "20:3"])
            #expect(given.cropSchedule == CropSchedule(phases: [.init(size: 20, epochs: 3)]))
            let epochsInFile = Self.write(#"{"recipe": "fast", "epochs": 21}"#, in: folder, name: "e.json")
            #expect(try options(["--config", epochsInFile]) == shortened)
        }
        // An epoch count below 1 is reported as the flag's error, not a failed rescale.
        FlagTests.expectRejected(["train", "--recipe", "fast", "--epochs", "0"], naming: "--epochs", mentioning: ["got 0"])
    }

    @Test func unknownKeysAndBadValuesAreRefusedNamingKeyAndFile() throws {
        CIFARFixture.withFolder { folder in
            for (text, expected) in [
                (#"{"batchSize": 8, "learning-rate": 0.1}"#, #"unknown key "learning-rate""#),
                (#"{"data": "x"}"#, "--data is not recorded in a run's options: give it on the command line"),
                (#"{"epochs": "many"}"#, #""epochs": "many" is a string where a number is expected"#),
                (#"[1, 2]"#, "not a JSON object of options"),
                (#"{"batch-size": 16, "batchSize": 32}"#, #""batch-size" and "batchSize" both set --batch-size; keep one"#),
            ] {
                let path = Self.write(text, in: folder)
                #expect { try RunConfigFile(path: path) } throws: { error in
                    let message = "\(error)"
                    return message.hasPrefix("--config \(path): ") && message.contains(expected)
                }
                #expect(throws: (any Error).self) { try RecipeTests.trainCommand(["--config", path]) }
            }
            #expect(throws: RunConfigError.self) { try RunConfigFile(path: folder + "/missing.json") }
        }
    }

    /// A value of the wrong JSON type says what was given and shows the form the key takes
    /// (the JSON options.json holds; the command line's `24:2` is not it); a field missing
    /// inside a value is named; a file that is not JSON says where the parser stopped.
    @Test func wrongFormsSayWhatTheKeyTakes() throws {
        CIFARFixture.withFolder { folder in
            for (text, expected) in [
                (#"{"epochs": "3"}"#, #""epochs": "3" is a string where a number is expected, as in "epochs": 60"#),
                (#"{"cropSchedule": "24:2"}"#,
                 #""cropSchedule": "24:2" is a string where an object is expected, as in "cropSchedule": {"phases":[{"epochs":22,"size":24}]}"#),
                (#"{"cropSchedule": {"phases": [{"size": 24}]}}"#, #""cropSchedule": phases[0] has no "epochs", as in "cropSchedule": {"phases":[{"epochs":22,"size":24}]}"#),
                (#"{"crop-schedule": {"phases": [{"size": "24", "epochs": 2}]}}"#, #""crop-schedule": "24" at phases[0].size is a string where a number is expected"#),
                (#"{"epochs": 3.5}"#, #""epochs": 3.5 is not a value of --epochs, as in "epochs": 60"#),
                (#"{"epochs": 3 "batchSize": 8}"#, "not valid JSON (Invalid value around character 13.)"),
                (#"{"epochs": 3,"#, "not valid JSON (Unexpected end of file"),
            ] {
                let path = Self.write(text, in: folder)
                let message = FlagTests.rejection(["train", "--config", path]) ?? "accepted"
                #expect(message.contains("--config \(path): " + expected), "\(message)")
            }
        }
    }

    /// A value from the file that fails its option's check names the file and the key as
    /// written there; typed on the command line, the flag alone, and the command line's value
    /// replaces the file's before the check.
    @Test func outOfRangeFileValuesNameTheFileAndKey() throws {
        CIFARFixture.withFolder { folder in
            for (text, expected) in [
                (#"{"epochs": -3}"#, #""epochs" (--epochs): must be at least 1, got -3"#),
                (#"{"schedule": "linear", "warmupPct": 2}"#, #""warmupPct" (--warmup-pct): must lie in [0, 1), got 2.0"#),
                (#"{"ema-decay": 1.5}"#, #""ema-decay" (--ema-decay): must be 0 (off) or lie strictly between 0 and 1, got 1.5"#),
                (#"{"noWeightDecayKinds": ["bais"]}"#, #""noWeightDecayKinds" (--no-weight-decay-on): unknown parameter kind 'bais'"#),
            ] {
                let path = Self.write(text, in: folder)
                let message = FlagTests.rejection(["train", "--config", path]) ?? "accepted"
                #expect(message.contains("--config \(path): " + expected), "\(message)")
            }
            let path = Self.write(#"{"epochs": -3}"#, in: folder)
            #expect(FlagTests.rejection(["train", "--config", path, "--epochs", "5"]) == nil)
            let typed = FlagTests.rejection(["train", "--config", Self.write(#"{"epochs": 5}"#, in: folder), "--epochs", "-3"]) ?? "accepted"
            #expect(typed.contains("--epochs: must be at least 1, got -3") && !typed.contains(folder), "\(typed)")
        }
    }

    /// On --resume the file's values are checked against the checkpoint; one that differs
    /// is reported as the file's key (the user typed no flag), saying what to drop.
    @Test func aFileValueContradictingTheCheckpointNamesTheFile() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let setup = try TrainCommand.setUp(try RecipeTests.trainCommand(
                ["--data", folder, "--epochs", "2", "--batch-size", "8", "--width-multiplier", "0.125", "--checkpoint-dir", folder + "/run"]).request)
            _ = try #require(try setup.run.saveCheckpoint())
            func resume(_ arguments: [String]) -> String {
                do {
                    _ = try TrainCommand.setUp(try RecipeTests.trainCommand(["--resume", folder + "/run"] + arguments).request)
                    return "accepted"
                } catch {
                    return "\(error)"
                }
            }
            for (text, key, given, recorded) in [(#"{"epochs": 3}"#, "epochs", "--epochs 3", "2"), (#"{"recipe": "fast"}"#, "recipe", "--recipe fast", "reference")] {
                let path = Self.write(text, in: folder)
                let message = resume(["--config", path])
                #expect(message.hasPrefix("--config \(path): \"\(key)\" gives \(given), which contradicts the checkpoint's \(recorded)"), "\(message)")
                #expect(message.contains("drop \"\(key)\" from the file or drop --config"), "\(message)")
            }
            let path = Self.write(#"{"epochs": 3}"#, in: folder)
            #expect(resume(["--config", path, "--epochs", "2"]) == "accepted", "the command line's value replaces the file's")
            #expect(resume(["--config", Self.write(#"{"epochs": 2}"#, in: folder)]) == "accepted")
        }
    }

    /// --recipe and the file's "recipe" must agree: the file's values are written over its
    /// recipe, and a run records one. A file that names a recipe is recorded with it.
    @Test func aRecipeFlagContradictingTheFilesRecipeIsRefused() throws {
        let fast = RecipeFileTests.path(.fast)
        let message = FlagTests.rejection(["train", "--recipe", "reference", "--config", fast]) ?? "accepted"
        #expect(message.contains("--recipe reference") && message.contains(#"--config \#(fast)"#) && message.contains(#""recipe" (--recipe): fast contradicts --recipe reference"#), "\(message)")
        #expect(FlagTests.rejection(["train", "--recipe", "fast", "--config", fast]) == nil)
        #expect(FlagTests.rejection(["train", "--recipe", "seed", "--config", RecipeFileTests.path(.reference)]) == nil)
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let setup = try TrainCommand.setUp(try RecipeTests.trainCommand(
                ["--data", folder, "--config", fast, "--epochs", "2", "--batch-size", "8", "--width-multiplier", "0.125", "--checkpoint-dir", folder + "/run"]).request)
            _ = try setup.prepareCheckpointDirectory()
            let written = try JSONDecoder().decode(TrainingOptions.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/run/" + RunConfigFile.fileName)))
            #expect(setup.options.recipe == "fast" && written.recipe == "fast")
        }
    }

    /// A run writes its resolved options to DIR/options.json; --config of that file gives
    /// the same options, and so the same run.
    @Test func optionsJSONRepeatsARun() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let flags = ["--epochs", "3", "--batch-size", "8", "--width-multiplier", "0.125", "--ema-decay", "0.9", "--schedule", "linear",
                         "--flip-mode", "alternate", "--crop-schedule", "24:1", "--limit-train", "12", "--max-lr", "0.07"]
            let setup = try TrainCommand.setUp(try RecipeTests.trainCommand(["--data", folder, "--checkpoint-dir", folder + "/a"] + flags).request)
            _ = try setup.prepareCheckpointDirectory()
            let written = folder + "/a/" + RunConfigFile.fileName
            #expect(FileManager.default.fileExists(atPath: written))
            let again = try TrainCommand.setUp(try RecipeTests.trainCommand(["--data", folder, "--config", written]).request)
            #expect(again.options == setup.options, "\(again.options.differences(from: setup.options))")
            #expect(again.options.epochs == 3 && again.options.schedule == .linear && again.options.flipMode == .alternate)
        }
    }
}
