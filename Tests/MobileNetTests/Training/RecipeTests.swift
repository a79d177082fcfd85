import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// The knobs of a recipe (issue: "each knob has a test of its semantics"): recipes, the
/// validation split, augmentation flags, label smoothing against PyTorch, option files
/// from earlier versions, and the test-once protocol.
@Suite struct RecipeTests {
    static func trainCommand(_ arguments: [String]) throws -> TrainCommand {
        try #require(try MobileNetTrain.parseAsRoot(["train"] + arguments) as? TrainCommand)
    }

    @Test func referenceRecipeIsTheTutorialsExactRecipe() {
        let seed = Recipe.reference.options
        #expect(seed == TrainingOptions())
        #expect(seed.epochs == 60 && seed.batchSize == 128 && seed.maxLearningRate == 0.1 && seed.weightDecay == 5e-4)
        #expect(seed.noWeightDecayKinds.isEmpty && !seed.nesterov && seed.labelSmoothing == 0)
        #expect(seed.cropPadding == 4 && seed.horizontalFlip && seed.validationSplit == 0)
    }

    @Test func fastRecipeDiffersFromTheReferenceInExactlyItsDocumentedKnobs() {
        let differences = Recipe.fast.options.differences(from: Recipe.reference.options)
        #expect(differences.map(\.flag) == ["--recipe", "--epochs", "--crop-schedule"])
        #expect(differences.map(\.value) == ["fast", "42", "24:22"])
    }

    /// fast-ls is fast plus the one change chosen on validation: label smoothing 0.1.
    @Test func fastLSRecipeIsFastWithLabelSmoothing() {
        let differences = Recipe.fastLS.options.differences(from: Recipe.fast.options)
        #expect(differences.map(\.flag) == ["--recipe", "--label-smoothing"])
        #expect(differences.map(\.value) == ["fast-ls", "0.1"])
        #expect(Recipe(rawValue: "fast-ls") == .fastLS)
    }

    /// fast-lowres is fast plus one change: 8 epochs of 16×16 crops in front, the rest of fast's
    /// schedule after them (22 at 24×24, then 20 at 32×32), so 50 epochs in all.
    @Test func fastLowresRecipeIsFastWithSixteenPixelEpochsInFront() throws {
        let differences = Recipe.fastLowres.options.differences(from: Recipe.fast.options)
        #expect(differences.map(\.flag) == ["--recipe", "--epochs", "--crop-schedule"])
        #expect(differences.map(\.value) == ["fast-lowres", "50", "16:8,24:22"])
        #expect(Recipe(rawValue: "fast-lowres") == .fastLowres)
        let sizes = (0..<50).map { Recipe.fastLowres.options.cropSchedule.size(atEpoch: $0) ?? 32 }
        #expect(sizes == Array(repeating: 16, count: 8) + Array(repeating: 24, count: 22) + Array(repeating: 32, count: 20))
        // Shortened with --epochs, each phase keeps its share: 8 and 22 of 50 → 6 and 16 of 36
        // (5.76 and 15.84 rounded), the last 14 epochs at 32×32.
        let shortened = try Self.trainCommand(["--recipe", "fast-lowres", "--epochs", "36"]).options(over: TrainCommand.defaults)
        #expect(shortened.cropSchedule == CropSchedule(phases: [.init(size: 16, epochs: 6), .init(size: 24, epochs: 16)]))
        // The run's header says which epochs train at which size, also when a phase rounds away
        // (8 of 50 → 0.48 of 3 epochs).
        let options = Recipe.fastLowres.options
        #expect(TrainCommand.cropScheduleLine(options.cropSchedule, epochs: 50, imageSide: 32)
                == "Crops: epochs 1–8 at 16×16, epochs 9–30 at 24×24, epochs 31–50 at 32×32 (--crop-schedule 16:8,24:22)")
        let three = try Self.trainCommand(["--recipe", "fast-lowres", "--epochs", "3"]).options(over: TrainCommand.defaults)
        #expect(TrainCommand.cropScheduleLine(three.cropSchedule, epochs: 3, imageSide: 32) == "Crops: epoch 1 at 24×24, epochs 2–3 at 32×32 (--crop-schedule 24:1)")
        #expect(TrainCommand.cropScheduleLine(.none, epochs: 3, imageSide: 32) == nil)
    }

    @Test func flagsAfterARecipeOverrideIt() throws {
        let command = try Self.trainCommand(["--recipe", "fast", "--epochs", "5", "--val-split", "100", "--crop-padding", "2", "--no-flip", "--tta", "flip"])
        let options = command.options(over: TrainCommand.defaults)
        var expected = Recipe.fast.options
        expected.epochs = 5
        expected.cropSchedule = CropSchedule(phases: [.init(size: 24, epochs: 3)])  // 22 of 42 epochs → 3 of 5
        expected.validationSplit = 100
        expected.cropPadding = 2
        expected.horizontalFlip = false
        expected.testTimeAugmentation = .flip
        #expect(options == expected)
        #expect(options.trainingAugmentation == AugmentationOptions(cropPadding: 2, horizontalFlip: false, cropSchedule: expected.cropSchedule))
        // Without --recipe the flags apply over the reference recipe's options.
        #expect(try Self.trainCommand(["--nesterov"]).options(over: TrainCommand.defaults).recipe == "reference")
    }

    /// `--resume DIR --recipe fast` of a fast run shortened with --epochs 2 keeps the
    /// checkpoint's options: the recipe given again is the checkpoint's own.
    @Test func theCheckpointsOwnRecipeGivenAgainChangesNothing() throws {
        var base = Recipe.fast.options
        base.epochs = 2
        #expect(try Self.trainCommand(["--recipe", "fast"]).options(over: base) == base)
        #expect(try Self.trainCommand(["--recipe", "reference"]).options(over: base).differences(from: base).first?.flag == "--recipe")
    }

    @Test func aRecipeKeepsTheResumedRunsClassCount() throws {
        var base = TrainingOptions()
        base.numClasses = 100
        #expect(try Self.trainCommand(["--recipe", "fast"]).options(over: base).numClasses == 100)
    }

    @Test func badRecipeValuesNameTheirFlag() {
        FlagTests.expectRejected(["train", "--recipe", "slow"], naming: "--recipe")
        FlagTests.expectRejected(["train", "--val-split", "-1"], naming: "--val-split", mentioning: ["got -1"])
        FlagTests.expectRejected(["train", "--crop-padding", "33"], naming: "--crop-padding", mentioning: ["0...32"])
        FlagTests.expectRejected(["train", "--tta", "flip"], naming: "--tta", mentioning: ["--val-split"])
        // On --resume the checkpoint supplies --val-split (TrainingRunSetup then checks --tta against it).
        #expect(throws: Never.self) { try MobileNetTrain.parseAsRoot(["train", "--resume", "runs/a", "--tta", "flip"]) }
        FlagTests.expectRejected(["train", "--val-split", "100", "--tta", "both"], naming: "--tta", mentioning: ["both"])
    }

    /// Checkpoints written before `recipe`, `validationSplit`, `cropPadding`,
    /// `horizontalFlip`, `cropSchedule` and `testTimeAugmentation` existed still load, with the values those runs used.
    @Test func optionsSavedBeforeTheNewKnobsDecodeWithTheReferenceValues() throws {
        let current = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as! [String: Any]
        var old = current
        for key in ["recipe", "validationSplit", "cropPadding", "horizontalFlip", "cropSchedule", "testTimeAugmentation"] { old.removeValue(forKey: key) }
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(decoded == TrainingOptions())
        var missingOriginal = current
        missingOriginal.removeValue(forKey: "epochs")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: missingOriginal))
        }
        var fast = Recipe.fast.options
        fast.validationSplit = 5000
        fast.testTimeAugmentation = .flip
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: JSONEncoder().encode(fast)) == fast)
    }

    /// PyTorch 2.13: `torch.nn.CrossEntropyLoss(label_smoothing=ε)` on these float64 logits
    /// (4 images × 10 classes, targets 3, 0, 9, 5), loss and ∂loss/∂logits.
    @Test(arguments: [
        (0.1, 3.1674884720586687, [-0.0020073178, -0.00203508047, 0.0972941001, -0.203062739, 0.00917102255, 0.104423012, -4.74971748e-05, 0.00119178125, -0.00246409544, -0.00246318651, -0.222980683, -0.00036735941, 0.161253283, -0.000767854306, 7.63171693e-05, -0.00248060304, -0.00183544596, -0.00231130797, -0.000715102616, 0.0701287556, 0.0413553788, 0.179844431, -0.00249267237, 0.00241306201, -0.00246907229, 0.00374572591, 0.00640753346, -0.00245226558, -0.00155927331, -0.224792847, -0.00159362992, 0.0872198841, -0.000340897949, -0.00248061601, 0.00856395379, -0.145255837, 0.0565091442, 0.000317056141, -0.00245017845, -0.000488878718]),
        (0.25, 3.427802222058669, [-0.0057573178, -0.00578508047, 0.0935441001, -0.169312739, 0.00542102255, 0.100673012, -0.00379749717, -0.00255821875, -0.00621409544, -0.00621318651, -0.189230683, -0.00411735941, 0.157503283, -0.00451785431, -0.00367368283, -0.00623060304, -0.00558544596, -0.00606130797, -0.00446510262, 0.0663787556, 0.0376053788, 0.176094431, -0.00624267237, -0.00133693799, -0.00621907229, -4.27409076e-06, 0.00265753346, -0.00620226558, -0.00530927331, -0.191042847, -0.00534362992, 0.0834698841, -0.00409089795, -0.00623061601, 0.00481395379, -0.111505837, 0.0527591442, -0.00343294386, -0.00620017845, -0.00423887872]),
    ])
    func labelSmoothingMatchesPyTorch(epsilon: Double, expectedLoss: Double, expectedGrad: [Double]) {
        let logits: [Float] = [0.199, 0.141, 5.51, 4.103, 3.364, 5.579, 1.804, 2.213, -2.42, -2.395, 2.303, 1.552, 5.893, 1.344, 1.741, -3.148, 0.386, -0.873, 1.374, 5.08, 4.372, 5.797, -4.325, 2.183, -2.885, 2.423, 2.778, -2.451, 0.53, 1.587, -2.115, 2.48, -1.247, -5.96, 0.387, 2.393, 2.061, -0.981, -5.016, -1.318]
        let map = FeatureMap(nchw: logits, shape: FeatureShape(channels: 10, height: 1, width: 1, batch: 4))
        let loss = CrossEntropyLoss(labelSmoothing: Float(epsilon))
        expectAllClose([loss.forward(map, targets: [3, 0, 9, 5])], [Float(expectedLoss)], "loss ε=\(epsilon)")
        expectAllClose(loss.backward().nchwArray(), expectedGrad.map(Float.init), "grad.logits ε=\(epsilon)")
        #expect(loss.correct == 0)  // no target is its image's largest logit
    }

    @Test func validationSplitHoldsOutTheLastImagesOfTheTrainingFiles() {
        let set = TrainingRunTests.patternDataset(count: 10, classes: 3, split: .train, seed: 4)
        let (training, validation) = set.holdingOut(last: 3)
        #expect(training.count == 7 && validation.count == 3)
        #expect(training.images == Array(set.images[0..<(7 * CIFARImage.bytes)]))
        #expect(validation.images == Array(set.images[(7 * CIFARImage.bytes)...]))
        #expect(training.labels == Array(set.labels[0..<7]) && validation.labels == Array(set.labels[7...]))
        #expect(set.holdingOut(last: 0).validation.count == 0)
    }

    /// `evaluate --split validation --val-split N` reads a run's held-out images: the last N
    /// of the training files in order, across file boundaries; --limit takes the first of those.
    @Test func evaluateReadsTheLastValSplitTrainingImagesAsTheValidationSet() throws {
        try CIFARFixture.withFolder { folder in
            let (train, test) = CIFARFixture.writeCIFAR10(in: folder)  // 3 + 2 + 4 + 1 + 2 training images
            func images(_ arguments: [String], _ heldOut: EvaluateCommand.HeldOut?) throws -> CIFARDataset {
                let command = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", "m", "--data", folder] + arguments) as? EvaluateCommand)
                return try command.images(dataset: nil, coarseLabels: false, heldOut: heldOut)
            }
            let validation = try images(["--split", "validation"], .init(count: 5, limitTrain: nil))
            #expect(validation.labels == Array(train.labels[7...]))
            #expect(validation.images == Array(train.images[(7 * CIFARImage.bytes)...]))
            let limited = try images(["--split", "validation", "--limit-test", "2"], .init(count: 5, limitTrain: nil))
            #expect(limited.labels == Array(train.labels[7..<9]) && limited.images == Array(train.images[(7 * CIFARImage.bytes)..<(9 * CIFARImage.bytes)]))
            // A run trained with --limit-train 6 --val-split 2 held out images 4 and 5.
            let ofLimited = try images(["--split", "validation"], .init(count: 2, limitTrain: 6))
            #expect(ofLimited.labels == Array(train.labels[4..<6]))
            #expect(try images([], nil).labels == test.labels)
            // Holding out all 12 (or more) leaves no training images: not a run's split.
            #expect(throws: CommandFailure.self) { try images(["--split", "validation"], .init(count: 12, limitTrain: nil)) }
        }
        FlagTests.expectRejected(["evaluate", "--checkpoint", "m", "--val-split", "5"], naming: "--val-split", mentioning: ["--split validation"])
        FlagTests.expectRejected(["evaluate", "--checkpoint", "m", "--split", "validation", "--val-split", "0"], naming: "--val-split", mentioning: ["got 0"])
        FlagTests.expectRejected(["evaluate", "--checkpoint", "m", "--split", "train"], naming: "--split", mentioning: ["train"])
    }

    /// `evaluate --split validation` takes the held-out count (and --limit-train) the run
    /// recorded; a different --val-split, or a run without one, is refused; a bare model
    /// file needs --val-split.
    @Test func evaluateChecksTheValSplitAgainstTheRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("valsplit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func runFolder(_ name: String, validationSplit: Int, limitTrain: Int?) throws -> String {
            var options = CheckpointFixture.options(epochs: 1)
            options.validationSplit = validationSplit
            options.limitTrain = limitTrain
            let directory = folder + "/" + name
            _ = try CheckpointFixture.run(options: options, train: CheckpointFixture.dataset(count: 8), directory: directory).run()
            return directory
        }
        func heldOut(_ checkpoint: String, _ arguments: [String] = []) throws -> EvaluateCommand.HeldOut {
            let command = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", checkpoint, "--split", "validation"] + arguments) as? EvaluateCommand)
            return try command.heldOut(modelPath: CheckpointLocation.modelFile(for: checkpoint))
        }
        let held = try runFolder("held", validationSplit: 3, limitTrain: 40)
        let recorded = try heldOut(held)
        #expect(recorded.count == 3 && recorded.limitTrain == 40)
        #expect(try heldOut(held, ["--val-split", "3"]).count == 3)
        let last = try #require(CheckpointDirectory(path: held).lastFolder)
        #expect(try heldOut(last + "/model.safetensors").count == 3, "a model file in a checkpoint folder")
        #expect { try heldOut(held, ["--val-split", "4"]) } throws: { "\($0)".contains("contradicts") && "\($0)".contains("held out 3") }
        let all = try runFolder("all", validationSplit: 0, limitTrain: nil)
        #expect { try heldOut(all) } throws: { "\($0)".contains("no validation set") }
        // A bare model file (a folder without a run): --val-split is needed, and taken as given.
        let bare = folder + "/bare.safetensors"
        try FileManager.default.copyItem(atPath: last + "/model.safetensors", toPath: bare)
        #expect { try heldOut(bare) } throws: { "\($0)".contains("--val-split") }
        #expect(try heldOut(bare, ["--val-split", "7"]).count == 7)
    }

    /// `evaluate --plot` / `--dump-logits` never overwrite the model read or the data, nor
    /// name one file twice; checked before any work.
    @Test func evaluateRefusesToWriteOverItsInputs() throws {
        func refusal(_ arguments: [String]) throws -> String? {
            let command = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", "runs/a/best.safetensors", "--data", "data/cifar"] + arguments) as? EvaluateCommand)
            do { try command.refuseOverwriting(inputs: ["runs/a/best.safetensors"]) } catch { return "\(error)" }
            return nil
        }
        #expect(try refusal(["--plot", "runs/a/../a/best.safetensors"])?.contains("--plot") == true)
        #expect(try refusal(["--dump-logits", "runs/a/best.safetensors"])?.contains("replace the model") == true)
        #expect(try refusal(["--plot", "data/cifar/test_batch.bin"])?.contains("data folder") == true)
        #expect(try refusal(["--plot", "out.svg", "--dump-logits", "./out.svg"])?.contains("same file") == true)
        #expect(try refusal(["--plot", "out.svg", "--dump-logits", "logits.safetensors"]) == nil)
        #expect(try refusal(["--plot", "no-such-folder/out.svg"])?.contains("does not exist") == true)
        #expect(try refusal(["--dump-logits", NSTemporaryDirectory()])?.contains("is a folder") == true)
    }

    /// With a validation set the epochs are judged on it, best.safetensors follows it, and
    /// the test set is evaluated once, after the run, for the final and the best weights.
    @Test func aValidationSetPicksTheBestCheckpointAndTheTestSetIsUsedOnce() throws {
        let all = TrainingRunTests.patternDataset(count: 60, classes: 3, split: .train, seed: 1)
        let (train, validation) = all.holdingOut(last: 12)
        let test = TrainingRunTests.patternDataset(count: 20, classes: 3, split: .test, seed: 2)
        var options = Recipe.fast.options
        options.epochs = 3
        options.batchSize = 16
        options.maxLearningRate = 0.02
        options.widthMultiplier = 0.25
        options.validationSplit = 12
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: options.seed)
        let trainLoader = BatchLoader(dataset: train, configuration: .training(batchSize: 16, seed: 0))
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: trainLoader.stepsPerEpoch)
        let folder = NSTemporaryDirectory() + "recipe-tests-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = TrainingRun(loop: TrainingLoop(session: session, trainLoader: trainLoader,
                                                 testLoader: BatchLoader(dataset: test, configuration: .evaluation(batchSize: 8)),
                                                 validationLoader: BatchLoader(dataset: validation, configuration: .evaluation(batchSize: 8))),
                              dataset: CheckpointDataset(name: "cifar10", coarseLabels: false, classNames: all.classNames, trainImages: 60),
                              checkpoints: CheckpointDirectory(path: folder))
        var ends: [TrainingRun.EpochEnd] = []
        #expect(try run.run(onEpoch: { ends.append($0) }) == .completed)
        #expect(ends.count == 3)
        for end in ends {
            #expect(end.summary.test == nil, "the test set must not be evaluated per epoch")
            #expect(end.summary.validation?.count == 12)
        }
        let accuracies = ends.map { $0.summary.validation!.accuracy }
        #expect(run.bestAccuracy == accuracies.max())
        let bestEpoch = accuracies.firstIndex(of: accuracies.max()!)! + 1
        #expect(ends.map(\.isBest) == accuracies.indices.map { i in accuracies[i] > (accuracies[..<i].max() ?? -1) })

        // The final weights' tally equals an independent evaluation of the same model.
        let independent = EvaluationTally.evaluate(model: model, loader: BatchLoader(dataset: test, configuration: .evaluation(batchSize: 20)))
        let result = try #require(try run.testOnce())
        #expect(result.final.count == 20 && result.final.top1Correct == independent.top1Correct)
        #expect(abs(result.final.loss - independent.loss) < 1e-5)
        let best = try #require(result.best)
        #expect(best.epochsCompleted == bestEpoch)
        // The best checkpoint evaluated here is the saved file, whatever the epoch.
        let saved = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 99)
        try saved.load(from: SafetensorsFile(contentsOfFile: folder + "/best.safetensors"))
        let savedTally = EvaluationTally.evaluate(model: saved, loader: BatchLoader(dataset: test, configuration: .evaluation(batchSize: 20)))
        #expect(best.tally.top1Correct == savedTally.top1Correct)
    }
}
