import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train train`: the seed's recipe by default, every knob a flag.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train MobileNetV1 on CIFAR with SGD + OneCycleLR and report test accuracy each epoch.",
        discussion: """
        Defaults reproduce the seed's recipe: batch 128, OneCycleLR (max lr 0.1, 30 % warm-up, \
        cosine, momentum cycled 0.95 → 0.85 → 0.95), SGD weight decay 5e-4, random crop 32 \
        with 4-pixel zero padding, horizontal flip, normalisation with the seed's mean/std. \
        The schedule spans epochs × steps per epoch; the last partial batch is kept unless --drop-last.
        """
    )

    @Option(help: "CIFAR folder (holding data_batch_1.bin … or train.bin …), or its parent.")
    var data: String = "data/cifar-10-batches-bin"

    @Option(help: "cifar10 or cifar100; recognised from the files when omitted.")
    var dataset: Dataset?

    @Flag(help: "CIFAR-100: train on the 20 coarse superclasses instead of the 100 fine labels.")
    var coarseLabels = false

    @Option(help: "Epochs (the schedule spans all of them).")
    var epochs: Int = 60

    @Option(help: "Training batch size.")
    var batchSize: Int = 128

    @Option(help: "Test batch size.")
    var testBatchSize: Int = 100

    @Option(name: .customLong("max-lr"), help: "OneCycleLR's peak learning rate.")
    var maxLR: Double = 0.1

    @Option(help: "SGD weight decay (L2).")
    var weightDecay: Double = 5e-4

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Parameter kinds without weight decay: \(Parameter.Kind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var noWeightDecayOn: [String] = []

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(help: "Label smoothing ε of the cross-entropy (PyTorch's label_smoothing).")
    var labelSmoothing: Double = 0

    @Option(help: "OneCycleLR: initial lr = max lr / div factor.")
    var divFactor: Double = 25

    @Option(help: "OneCycleLR: final lr = initial lr / final div factor.")
    var finalDivFactor: Double = 1e4

    @Option(help: "OneCycleLR: fraction of the steps spent warming up, in (0, 1).")
    var pctStart: Double = 0.3

    @Option(help: "OneCycleLR: lowest cycled momentum.")
    var baseMomentum: Double = 0.85

    @Option(help: "OneCycleLR: highest cycled momentum.")
    var maxMomentum: Double = 0.95

    @Option(help: "Width multiplier α (Howard et al. §3.3): channels become int(n·α).")
    var widthMultiplier: Double = 1.0

    @Option(help: "Seed for initialisation, order and augmentation.")
    var seed: UInt64 = 0

    @Option(help: "Threads for the engine and OpenBLAS (default: all cores).")
    var threads: Int = ProcessInfoCores.active

    @Option(help: "Train on the first N training images only (quick runs).")
    var limitTrain: Int?

    @Option(help: "Test on the first N test images only.")
    var limitTest: Int?

    @Flag(help: "Drop the last partial training batch (PyTorch's drop_last); kept by default as the seed does.")
    var dropLast = false

    @Option(help: "Append JSON lines here: one every 100 steps (step, loss, lr, momentum) and one per epoch.")
    var metrics: String?

    var options: TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs
        o.batchSize = batchSize
        o.testBatchSize = testBatchSize
        o.maxLearningRate = maxLR
        o.weightDecay = weightDecay
        o.noWeightDecayKinds = noWeightDecayOn
        o.nesterov = nesterov
        o.labelSmoothing = labelSmoothing
        o.divFactor = divFactor
        o.finalDivFactor = finalDivFactor
        o.pctStart = pctStart
        o.baseMomentum = baseMomentum
        o.maxMomentum = maxMomentum
        o.widthMultiplier = widthMultiplier
        o.seed = seed
        o.limitTrain = limitTrain
        o.limitTest = limitTest
        o.dropLast = dropLast
        return o
    }

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads: must be at least 1, got \(threads)") }
        do {
            try options.validate()
        } catch let error as TrainingOptions.InvalidOption {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        setEngineThreads(threads)
        let train: CIFARDataset, test: CIFARDataset
        do {
            train = try CIFARDataset.load(directory: data, split: .train, dataset: dataset, coarseLabels: coarseLabels, limit: limitTrain)
            test = try CIFARDataset.load(directory: data, split: .test, dataset: train.dataset, coarseLabels: coarseLabels, limit: limitTest)
        } catch {
            throw CleanExit.message("error: \(error)")
        }
        var options = self.options
        options.numClasses = train.classNames.count
        let model = MobileNetV1(numClasses: options.numClasses, widthMultiplier: options.widthMultiplier, seed: options.seed)
        let trainLoader = BatchLoader(dataset: train, configuration: .training(batchSize: options.batchSize, seed: options.seed, dropLast: options.dropLast))
        let testLoader = BatchLoader(dataset: test, configuration: .evaluation(batchSize: options.testBatchSize))
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: trainLoader.stepsPerEpoch)
        let loop = TrainingLoop(session: session, trainLoader: trainLoader, testLoader: testLoader)
        let log = try metrics.map { try MetricsLog(path: $0) }

        print("MobileNetV1 α=\(options.widthMultiplier), \(options.numClasses) classes, \(model.parameterCount) parameters; "
              + "\(train.dataset): \(train.count) training / \(test.count) test images from \(data)")
        print("\(options.epochs) epochs × \(trainLoader.stepsPerEpoch) steps of batch \(options.batchSize); "
              + "\(threads) thread(s), OpenBLAS \(BLAS.coreName)")
        let progress = ProgressBar()
        let runStart = monotonicSeconds()
        for epoch in 0..<options.epochs {
            let (summary, _) = try runEpochReportingErrors(loop, epoch: epoch) { p in
                progress.update(epoch: epoch + 1, epochs: options.epochs, step: p.step, total: p.stepsPerEpoch,
                                loss: p.runningLoss, learningRate: p.learningRate,
                                imagesPerSecond: p.imagesPerSecond, elapsedSeconds: p.elapsedSeconds)
                if p.globalStep % 100 == 0 {
                    log?.write(["kind": "step", "epoch": epoch + 1, "step": p.globalStep, "loss": p.loss,
                                "lr": p.learningRate, "momentum": p.momentum])
                }
            }
            progress.finish()
            report(summary, epochs: options.epochs, log: log, totalSeconds: monotonicSeconds() - runStart)
        }
    }

    /// Runs an epoch; a diverged step ends the program with its message and status 1.
    func runEpochReportingErrors(_ loop: TrainingLoop, epoch: Int, onStep: (StepProgress) -> Void) throws -> (summary: EpochSummary, completed: Bool) {
        do {
            return try loop.runEpoch(epoch, onStep: onStep)
        } catch let error as TrainingSession.NonFiniteError {
            FileHandle.standardError.write(Data("\nerror: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func report(_ s: EpochSummary, epochs: Int, log: MetricsLog?, totalSeconds: Double) {
        let testText = s.test.map { String(format: "test loss %.4f acc %.2f%%", $0.loss, 100 * $0.accuracy) } ?? "no test"
        print(String(format: "Epoch %d/%d: train loss %.4f acc %.2f%% | %@ | %.1f s (%.0f img/s), total %.1f min",
                     s.epoch + 1, epochs, s.trainLoss, 100 * s.trainAccuracy, testText, s.epochSeconds,
                     s.imagesPerSecond, totalSeconds / 60))
        flushStandardOutput()
        var fields: [String: Any] = ["kind": "epoch", "epoch": s.epoch + 1, "train_loss": s.trainLoss,
                                     "train_accuracy": s.trainAccuracy, "epoch_seconds": s.epochSeconds,
                                     "train_seconds": s.trainSeconds, "test_seconds": s.testSeconds,
                                     "images_per_second": s.imagesPerSecond]
        if let t = s.test {
            fields["test_loss"] = t.loss
            fields["test_accuracy"] = t.accuracy
        }
        log?.write(fields)
    }
}
