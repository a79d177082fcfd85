import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `--ema-decay` / `--ema-every`: the moving average of the weights and BatchNorm buffers
/// (AveragedModel with use_buffers=True, TF's decay warm-up), checked against the formula
/// applied in Double to the trained model's own states, and across a resume.
@Suite struct ExponentialMovingAverageTests {
    /// 24 images, batch 8 → 3 steps per epoch, 2 epochs, α = 0.25; D = 0.9 every 2 steps.
    static func options() -> TrainingOptions {
        var options = CheckpointFixture.options()
        (options.emaDecay, options.emaEvery) = (0.9, 2)
        return options
    }

    /// The model's state_dict as Doubles (num_batches_tracked included).
    static func values(_ model: MobileNetV1) -> [String: [Double]] {
        var state: [String: [Double]] = [:]
        for (name, p) in model.namedParameters { state[name] = p.value.array.map(Double.init) }
        for (name, value) in model.namedBuffers {
            switch value {
            case .float(let t): state[name] = t.array.map(Double.init)
            case .int64(let s): state[name] = [Double(s.value)]
            }
        }
        return state
    }

    @Test func warmUpIsTheTensorFlowRule() {
        // (1 + n) / (10 + n) below D, D above: n = 0 → 0.1, n = 8 → 0.5, n = 90 → 0.91 > 0.9.
        #expect(ExponentialMovingAverage.warmedUpDecay(0.9, update: 0) == 0.1)
        #expect(ExponentialMovingAverage.warmedUpDecay(0.9, update: 8) == 0.5)
        #expect(ExponentialMovingAverage.warmedUpDecay(0.9, update: 90) == 0.9)
    }

    /// Six steps with updates after steps 2, 4 and 6: copy, then decays 2/11 and 3/12,
    /// computed here in Double from the raw model's state after those steps.
    @Test func averageAfterSixStepsEqualsTheFormulaByHand() throws {
        let run = try CheckpointFixture.run(options: Self.options(), train: CheckpointFixture.dataset(), directory: nil)
        let ema = try #require(run.session.ema, "--ema-decay 0.9 gives the session a moving average")
        var snapshots: [Int: [String: [Double]]] = [:]
        #expect(try run.run(onStep: { p in
            if p.globalStep % 2 == 0 { snapshots[p.globalStep] = Self.values(run.session.model) }
        }) == .completed)
        #expect(ema.updates == 3)
        var expected = try #require(snapshots[2])
        for (n, step) in [(1, 4), (2, 6)] {
            let d = min(0.9, Double(1 + n) / Double(10 + n))
            let m = try #require(snapshots[step])
            for (name, e) in expected {
                let mixed = zip(e, m[name]!).map { d * $0 + (1 - d) * $1 }
                // num_batches_tracked: PyTorch's integer branch truncates e·d + m·(1 − d).
                expected[name] = name.hasSuffix("num_batches_tracked") ? mixed.map { $0.rounded(.towardZero) } : mixed
            }
        }
        // Counts by hand: 2 → ⌊2·2/11 + 4·9/11⌋ = ⌊3.64⌋ = 3 → ⌊3·0.25 + 6·0.75⌋ = ⌊5.25⌋ = 5.
        #expect(expected["entry.1.num_batches_tracked"] == [5])
        let actual = Self.values(ema.model)
        #expect(actual.keys.sorted() == expected.keys.sorted())
        var worst = (name: "", error: 0.0)
        var differsFromRaw = false
        let raw = Self.values(run.session.model)
        for (name, values) in expected {
            for (a, b) in zip(actual[name]!, values) {
                let error = abs(a - b) / (1e-8 + 1e-5 * abs(b))
                if error > worst.error { worst = (name, error) }
            }
            differsFromRaw = differsFromRaw || zip(actual[name]!, raw[name]!).contains { abs($0 - $1) > 1e-4 }
        }
        // |a − b| ≤ 1e-8 + 1e-5·|b|: Float rounding of three lerps (weights are ~0.05, an ulp
        // ~4e-9; averages of opposite-signed values end near 0, hence the absolute term).
        #expect(worst.error <= 1, "largest error \(worst.error)× the tolerance in \(worst.name)")
        #expect(differsFromRaw, "the average is not the trained model itself")
    }

    /// Stopped after step 3 (between two updates), saved, resumed in fresh objects: the
    /// average (and everything else) ends bit for bit as in the uninterrupted run, the
    /// first part on one engine thread and the rest on two.
    @Test func resumeMidRunGivesTheUninterruptedAverage() throws {
        let saved = Parallel.threadCount
        defer { setEngineThreads(saved) }
        let straight = try CheckpointFixture.run(options: Self.options(), train: CheckpointFixture.dataset(), directory: nil)
        #expect(try straight.run() == .completed)
        let reference = CheckpointFixture.bits(try #require(straight.session.ema).model)
        try CIFARFixture.withFolder { folder in
            setEngineThreads(1)
            let first = try CheckpointFixture.run(options: Self.options(), train: CheckpointFixture.dataset(), directory: folder)
            guard case .stopped(let stoppedAt?) = try first.run(shouldStop: CheckpointFixture.stop(after: 3, first)) else {
                Issue.record("expected a stop with a checkpoint"); return
            }
            #expect(FileManager.default.fileExists(atPath: stoppedAt + "/" + TrainingCheckpoint.emaFileName))
            let checkpoint = try TrainingCheckpoint(folder: stoppedAt)
            setEngineThreads(2)
            let resumed = try CheckpointFixture.run(options: Self.options(), train: CheckpointFixture.dataset(), directory: folder, modelSeed: 77)
            try resumed.resume(from: checkpoint)
            #expect(resumed.session.ema?.updates == 1)
            #expect(try resumed.run() == .completed)
            CheckpointFixture.expectIdentical(CheckpointFixture.bits(try #require(resumed.session.ema).model), reference, "EMA after a resume")
            CheckpointFixture.expectIdentical(CheckpointFixture.bits(resumed.session.model), CheckpointFixture.bits(straight.session.model), "raw weights")

            // The model evaluate, predict and export read: the average, unless --raw-weights.
            #expect(try CheckpointLocation.modelFile(for: folder).hasSuffix("/" + TrainingCheckpoint.emaFileName))
            #expect(try CheckpointLocation.modelFile(for: folder, raw: true).hasSuffix("/" + TrainingCheckpoint.modelFileName))
            let loaded = try LoadedModel(checkpoint: folder, strict: true)
            CheckpointFixture.expectIdentical(CheckpointFixture.bits(loaded.model), reference, "evaluate's model")
        }
    }

    /// A checkpoint of a run with an average but without its file, and a resume that
    /// contradicts --ema-decay, are refused.
    @Test func missingAverageAndContradictingResumeAreRefused() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let command = try RecipeTests.trainCommand(["--data", folder, "--epochs", "2", "--batch-size", "8", "--width-multiplier", "0.125",
                                                        "--checkpoint-dir", folder + "/run", "--ema-decay", "0.99"])
            let setup = try TrainCommand.setUp(command.request)
            #expect(setup.options.emaDecay == 0.99 && setup.run.session.ema != nil)
            let saved = try #require(try setup.run.saveCheckpoint())
            func resume(_ flags: [String]) throws -> TrainingRunSetup {
                try TrainCommand.setUp(try RecipeTests.trainCommand(["--resume", folder + "/run"] + flags).request)
            }
            #expect(try resume([]).options.emaDecay == 0.99, "a resume keeps the run's --ema-decay")
            #expect(throws: CheckpointError.optionConflict(path: saved + "/training_state.safetensors", flag: "--ema-decay", given: "0.5", checkpoint: "0.99")) {
                _ = try resume(["--ema-decay", "0.5"])
            }
            #expect(throws: CheckpointError.optionConflict(path: saved + "/training_state.safetensors", flag: "--ema-every", given: "3", checkpoint: "1")) {
                _ = try resume(["--ema-every", "3"])
            }
            try FileManager.default.removeItem(atPath: saved + "/" + TrainingCheckpoint.emaFileName)
            #expect(throws: CheckpointError.self) { _ = try TrainingCheckpoint(folder: saved) }
        }
    }

    /// The metrics fields of the average: `ema_loss`/`ema_accuracy` on epoch lines,
    /// `final_ema` on the test line; absent without one.
    @Test func metricsLinesCarryTheAverage() throws {
        var epoch = MetricsLine.Epoch(epoch: 2)
        (epoch.emaLoss, epoch.emaAccuracy) = (0.5, 0.75)
        var test = MetricsLine.Test()
        test.finalIsAverage = true
        let epochText = try MetricsLine.epoch(epoch).jsonText(), testText = try MetricsLine.test(test).jsonText()
        #expect(epochText.contains("\"ema_accuracy\":0.75") && epochText.contains("\"ema_loss\":0.5"))
        #expect(testText.contains("\"final_ema\":true"))
        #expect(try MetricsLine(jsonText: epochText) == .epoch(epoch) && MetricsLine(jsonText: testText) == .test(test))
        #expect(try !MetricsLine.epoch(MetricsLine.Epoch(epoch: 2)).jsonText().contains("ema"))
    }

    /// `withAverage(in:)`: inside, the trained model holds the average's state (its logits
    /// bitwise those of a separate copy of the average), and what the body changes stays in
    /// the average; after, the trained model is bit for bit what it was.
    @Test func evaluatingTheAverageInTheTrainedModelRestoresIt() {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 1)
        let ema = ExponentialMovingAverage(of: model, decay: 0.9)
        // Move the trained model away from the average: other weights, other statistics.
        for (_, p) in model.namedParameters { for i in 0..<p.value.count { p.value.data[i] *= 1.5 } }
        var rng = TestRNG(seed: 7)
        let batch = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: 4), &rng)
        _ = model.forward(batch, training: true)
        let trained = Self.values(model), average = Self.values(ema.model)
        #expect(trained != average)
        let separate = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 2)
        ExponentialMovingAverage.copy(from: ema.model, into: separate)
        let expected = separate.forward(batch, training: false).nchwArray()
        let logits: [Float] = ema.withAverage(in: model) { inside in
            #expect(Self.values(inside) == average)
            let logits = inside.forward(batch, training: false).nchwArray()
            // A body that changes the state (as BatchNorm recalibration does).
            for (name, value) in inside.namedBuffers where name == "entry.1.running_mean" {
                if case .float(let mean) = value { mean.data[0] = 7 }
            }
            return logits
        }
        #expect(logits.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(Self.values(model) == trained)
        var changed = average
        changed["entry.1.running_mean", default: []][0] = 7
        #expect(Self.values(ema.model) == changed)
    }

    @Test func outOfRangeValuesAreRefusedNamingTheFlag() throws {
        for (flags, message) in [(["--ema-decay", "1"], "--ema-decay: must be 0 (off) or lie strictly between 0 and 1, got 1.0"),
                                 (["--ema-every", "0"], "--ema-every: must be at least 1, got 0")] {
            #expect(throws: (any Error).self, "\(flags)") { try RecipeTests.trainCommand(flags).validate() }
            var options = TrainingOptions()
            (options.emaDecay, options.emaEvery) = flags[0] == "--ema-decay" ? (1, 1) : (0.5, 0)
            #expect(throws: TrainingOptions.InvalidOption.self) { try options.validate() }
            do { try options.validate() } catch { #expect("\(error)" == message) }
        }
    }
}
