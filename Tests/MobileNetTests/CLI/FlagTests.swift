import Testing
@testable import MobileNet
@testable import Trainer

/// Bad flags stop `mobilenet-train train` before anything runs, with a message naming the flag.
@Suite struct FlagTests {
    /// Parses `arguments` as the real command line and returns the message the user sees.
    static func rejection(_ arguments: [String]) -> String? {
        do {
            _ = try MobileNetTrain.parseAsRoot(arguments)
            return nil
        } catch {
            return MobileNetTrain.message(for: error)
        }
    }

    static func expectRejected(_ arguments: [String], naming flag: String, mentioning details: [String] = [],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        guard let message = rejection(arguments) else {
            Issue.record("\(arguments) was accepted", sourceLocation: sourceLocation)
            return
        }
        for text in [flag] + details {
            #expect(message.contains(text), "message \"\(message)\" does not mention \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["0", "-1", "-128"])
    func batchSizeBelowTwoIsRejected(value: String) {
        Self.expectRejected(["train", "--batch-size=\(value)"], naming: "--batch-size", mentioning: ["got \(value)"])
    }

    @Test func batchSizeOneIsRejectedBecauseBatchNormNeedsTwoValues() {
        Self.expectRejected(["train", "--batch-size", "1"], naming: "--batch-size", mentioning: ["at least 2", "BatchNorm"])
    }

    @Test(arguments: ["0", "-3"])
    func epochsBelowOneAreRejected(value: String) {
        Self.expectRejected(["train", "--epochs=\(value)"], naming: "--epochs", mentioning: ["got \(value)"])
    }

    @Test(arguments: ["0", "-0.1", "nan", "inf"])
    func learningRateThatIsNotAPositiveNumberIsRejected(value: String) {
        Self.expectRejected(["train", "--max-lr=\(value)"], naming: "--max-lr", mentioning: ["positive"])
    }

    @Test(arguments: ["0", "1", "-0.2", "1.5", "nan"])
    func pctStartOutsideTheOpenUnitIntervalIsRejected(value: String) {
        Self.expectRejected(["train", "--pct-start=\(value)"], naming: "--pct-start", mentioning: ["between 0 and 1"])
    }

    @Test(arguments: ["0", "-2"])
    func threadsBelowOneAreRejected(value: String) {
        Self.expectRejected(["train", "--threads=\(value)"], naming: "--threads", mentioning: ["at least 1"])
    }

    @Test func negativeValueAfterASpaceStillNamesTheFlag() {
        // ArgumentParser reads "-1" there as another option: "Missing value for '--batch-size …'".
        for flag in ["--batch-size", "--epochs", "--max-lr"] {
            Self.expectRejected(["train", flag, "-1"], naming: flag)
        }
    }

    @Test func unknownFlagsAreNamed() {
        Self.expectRejected(["train", "--batchsize", "64"], naming: "--batchsize")
        // The default subcommand is train: a flag without it is checked the same way.
        Self.expectRejected(["--learning-rate", "0.1"], naming: "--learning-rate")
        Self.expectRejected(["train", "-x"], naming: "-x")
    }

    @Test func aNonNumberIsRejectedNamingTheFlag() {
        Self.expectRejected(["train", "--epochs", "ten"], naming: "--epochs", mentioning: ["ten"])
    }

    @Test func defaultsAndSensibleValuesAreAccepted() throws {
        #expect(Self.rejection(["train"]) == nil)
        #expect(Self.rejection(["train", "--batch-size", "2", "--epochs", "1", "--max-lr", "0.5", "--pct-start", "0.5", "--threads", "1"]) == nil)
        let command = try #require(try MobileNetTrain.parseAsRoot(["train", "--batch-size", "64", "--pct-start", "0.25"]) as? TrainCommand)
        let options = command.options(over: TrainingOptions())
        #expect(options.batchSize == 64)
        #expect(options.pctStart == 0.25)
    }

    @Test func evaluateTakesTestTimeAugmentationNoneByDefaultOrFlip() throws {
        let plain = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", "m.safetensors"]) as? EvaluateCommand)
        #expect(plain.tta == .none)
        let flip = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", "m.safetensors", "--tta", "flip"]) as? EvaluateCommand)
        #expect(flip.tta == .flip)
        Self.expectRejected(["evaluate", "--checkpoint", "m.safetensors", "--tta", "mirror"], naming: "--tta", mentioning: ["mirror", "flip"])
        Self.expectRejected(["evaluate", "--checkpoint", "m.safetensors", "--tta"], naming: "--tta")
    }

    /// TrainingOptions.validate() names the flag of the first bad value.
    @Test func trainingOptionsValidationNamesTheFlag() {
        func flag(_ change: (inout TrainingOptions) -> Void) -> String? {
            var options = TrainingOptions()
            change(&options)
            do {
                try options.validate()
                return nil
            } catch let error as TrainingOptions.InvalidOption {
                #expect(error.description.hasPrefix(error.flag + ": "))
                return error.flag
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(flag { _ in } == nil)
        #expect(flag { $0.batchSize = 1 } == "--batch-size")
        #expect(flag { $0.batchSize = 0 } == "--batch-size")
        #expect(flag { $0.epochs = 0 } == "--epochs")
        #expect(flag { $0.epochs = -1 } == "--epochs")
        #expect(flag { $0.maxLearningRate = 0 } == "--max-lr")
        #expect(flag { $0.maxLearningRate = -0.1 } == "--max-lr")
        #expect(flag { $0.maxLearningRate = .infinity } == "--max-lr")
        #expect(flag { $0.pctStart = 0 } == "--pct-start")
        #expect(flag { $0.pctStart = 1 } == "--pct-start")
        #expect(flag { $0.pctStart = .nan } == "--pct-start")
        #expect(flag { $0.testBatchSize = 0 } == "--test-batch-size")
        #expect(flag { $0.weightDecay = -1e-4 } == "--weight-decay")
        #expect(flag { $0.limitTrain = 1 } == "--limit-train")
        #expect(flag { $0.noWeightDecayKinds = ["bogus"] } == "--no-weight-decay-on")
    }
}
