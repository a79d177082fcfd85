import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `--eval-every N`: the evaluation pass runs after epochs N, 2N, … and the last (the last
/// alone with 0); the weights trained are those of a run evaluating every epoch, bit for bit,
/// and best.safetensors is chosen among the epochs evaluated.
@Suite struct EvalEveryTests {
    /// A 5-epoch run on 12 training images (4 held out), batch 4: the 1-based epochs whose
    /// epoch report carries a validation result, the last checkpoint's tensors, and the
    /// epoch best.safetensors recorded.
    static func run(_ folder: String, name: String, evalEvery: [String]) throws -> (evaluated: [Int], bits: [String: [UInt64]], best: String?) {
        let command = try RecipeTests.trainCommand(["--data", folder, "--epochs", "5", "--batch-size", "4", "--width-multiplier", "0.125",
                                                    "--val-split", "4", "--checkpoint-dir", folder + "/" + name] + evalEvery)
        let setup = try TrainCommand.setUp(command.request)
        var evaluated: [Int] = [], epochs = 0
        var withTest = 0
        let ending = try setup.execute(metrics: nil, shouldStop: { false }, onEvent: { event in
            guard case .epoch(let report) = event else { return }
            epochs += 1
            if report.end.summary.test != nil { withTest += 1 }
            if report.end.summary.validation != nil { evaluated.append(report.end.summary.epoch + 1) }
        })
        #expect(ending == .completed && epochs == 5)
        #expect(withTest == 0, "a run with a validation set never tests per epoch")
        let last = try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder + "/" + name))
        let best = try SafetensorsFile(contentsOfFile: folder + "/" + name + "/best.safetensors").metadata["epochs_completed"]
        return (evaluated, CheckpointFixture.bits(try MobileNetV1(contentsOf: last.model, strict: true)), best)
    }

    @Test func evaluationsFollowTheFlagAndTheWeightsDoNot() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let every = try Self.run(folder, name: "every", evalEvery: [])
            let second = try Self.run(folder, name: "second", evalEvery: ["--eval-every", "2"])
            let lastOnly = try Self.run(folder, name: "last", evalEvery: ["--eval-every", "0"])
            #expect(every.evaluated == [1, 2, 3, 4, 5])
            #expect(second.evaluated == [2, 4, 5])
            #expect(lastOnly.evaluated == [5])
            CheckpointFixture.expectIdentical(second.bits, every.bits, "--eval-every 2 against every epoch")
            CheckpointFixture.expectIdentical(lastOnly.bits, every.bits, "--eval-every 0 against every epoch")
            #expect(lastOnly.best == "5", "the only epoch evaluated is the best")
            #expect(["2", "4", "5"].contains(second.best ?? "none"), "best among the epochs evaluated, got \(second.best ?? "none")")
        }
    }

    @Test func aNegativeValueIsRefused() {
        FlagTests.expectRejected(["train", "--eval-every", "-1"], naming: "--eval-every", mentioning: ["zero or positive"])
    }

    /// Stopped after epoch 3 with `--eval-every 2` and resumed: the resumed run evaluates
    /// epochs 4 and 5, as the uninterrupted run does, and ends with the same weights.
    @Test func aResumedRunKeepsTheSchedule() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let whole = try Self.run(folder, name: "whole", evalEvery: ["--eval-every", "2"])
            let flags = ["--data", folder, "--epochs", "5", "--batch-size", "4", "--width-multiplier", "0.125",
                         "--val-split", "4", "--checkpoint-dir", folder + "/cut", "--eval-every", "2"]
            var epochs = 0, evaluated: [Int] = []
            func record(_ event: TrainingRunEvent) {
                guard case .epoch(let report) = event else { return }
                epochs += 1
                if report.end.summary.validation != nil { evaluated.append(report.end.summary.epoch + 1) }
            }
            let first = try TrainCommand.setUp(try RecipeTests.trainCommand(flags).request)
            let stopped = try first.execute(metrics: nil, shouldStop: { epochs == 3 }, onEvent: record)
            #expect(stopped != .completed && epochs == 3 && evaluated == [2])
            evaluated = []
            let resumed = try TrainCommand.setUp(try RecipeTests.trainCommand(["--resume", folder + "/cut"]).request)
            #expect(try resumed.execute(metrics: nil, shouldStop: { false }, onEvent: record) == .completed)
            #expect(evaluated == [4, 5])
            let last = try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder + "/cut"))
            CheckpointFixture.expectIdentical(CheckpointFixture.bits(try MobileNetV1(contentsOf: last.model, strict: true)), whole.bits, "resumed against whole")
        }
    }
}
