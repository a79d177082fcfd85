#if canImport(Glibc)
import Glibc
#endif

/// Loss and accuracy of a model over a data set (eval mode).
public struct EvaluationResult: Sendable, Equatable {
    /// Mean cross-entropy per image.
    public var loss: Double
    /// Top-1 correct predictions.
    public var correct: Int
    /// Images evaluated.
    public var count: Int
    /// correct / count, in [0, 1].
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }
}

/// Where a training step stands, for progress bars and metrics.
public struct StepProgress: Sendable {
    /// 0-based epoch.
    public let epoch: Int
    /// 1-based step within the epoch, and the epoch's step count.
    public let step: Int
    public let stepsPerEpoch: Int
    /// Optimizer steps taken in the whole run, including this one.
    public let globalStep: Int
    /// This step's mean loss and the epoch's running mean loss per image so far.
    public let loss: Double
    public let runningLoss: Double
    public let learningRate: Double
    public let momentum: Double
    /// Images trained on in this epoch so far, and seconds since the epoch began.
    public let images: Int
    public let elapsedSeconds: Double
    public var imagesPerSecond: Double { elapsedSeconds > 0 ? Double(images) / elapsedSeconds : 0 }
    /// The epoch's training figures so far, from its first step when a carried tally
    /// was given to ``TrainingLoop/runEpoch(_:startStep:carried:shouldStop:onStep:)``.
    public let tally: EpochTally
}

/// What one epoch measured.
public struct EpochSummary: Sendable {
    /// 0-based epoch.
    public let epoch: Int
    /// The first step the training figures cover: 0, or the step a resumed run continued
    /// at when its checkpoint carried no ``EpochTally`` (then they cover only the steps after it).
    public let firstStep: Int
    /// Mean training loss per image and top-1 accuracy on the augmented training batches
    /// (training mode, before each update), as the original tutorial's loop reports them.
    public let trainLoss: Double
    public let trainAccuracy: Double
    /// Validation-set evaluation after the epoch (nil without a validation loader).
    public let validation: EvaluationResult?
    /// Test-set evaluation after the epoch: only when there is no validation loader (nil
    /// without a test loader). With a validation set, the test set is kept for the end.
    public let test: EvaluationResult?
    /// The moving average's evaluation on the same set as ``validation`` or ``test``
    /// (nil without ``TrainingSession/ema``).
    public let ema: EvaluationResult?
    /// The evaluation that picks the best checkpoint: the moving average's if any, else
    /// validation if any, else test.
    public var selection: EvaluationResult? { ema ?? validation ?? test }
    /// Seconds of the training part, of the evaluation pass (validation or test), and of the whole epoch.
    public let trainSeconds: Double
    public let testSeconds: Double
    public var epochSeconds: Double { trainSeconds + testSeconds }
    /// Training images per second (data loading included).
    public let imagesPerSecond: Double
}

/// The epoch loop: batches from a ``BatchLoader`` through a ``TrainingSession``,
/// then an evaluation pass: the validation set when there is one, else the test set.
/// Printing, metrics files and checkpoints are the caller's, through the callbacks.
public final class TrainingLoop {
    public let session: TrainingSession
    public let trainLoader: BatchLoader
    public let testLoader: BatchLoader?
    /// Held-out training images (``TrainingOptions/validationSplit``), evaluated after every
    /// epoch in place of the test set.
    public let validationLoader: BatchLoader?
    /// The images BatchNorm is recalibrated on after the last epoch's training, before its
    /// evaluation (``TrainingOptions/bnRecalibrate``); nil for none.
    public let recalibrationLoader: BatchLoader?

    public init(session: TrainingSession, trainLoader: BatchLoader, testLoader: BatchLoader?,
                validationLoader: BatchLoader? = nil, recalibrationLoader: BatchLoader? = nil) {
        self.session = session
        self.trainLoader = trainLoader
        self.testLoader = testLoader
        self.validationLoader = validationLoader
        self.recalibrationLoader = recalibrationLoader
    }

    /// Whether the evaluation pass runs after `epoch` (0-based): after the last epoch, and
    /// after every ``TrainingOptions/evalEvery``-th (none between when it is 0).
    public func evaluates(afterEpoch epoch: Int) -> Bool {
        let every = session.options.evalEvery
        return epoch == session.options.epochs - 1 || (every > 0 && (epoch + 1) % every == 0)
    }

    /// Trains one epoch from `startStep` (resume) and evaluates (validation set, else test
    /// set) when ``evaluates(afterEpoch:)``.
    /// - Parameters:
    ///   - shouldStop: polled after every step; returning true ends the epoch early
    ///     (the summary then covers the steps taken, and no test pass runs).
    ///   - onStep: called after every step.
    /// - Returns: the summary, and whether the epoch ran to its end.
    /// - Throws: ``TrainingSession/NonFiniteError`` (weights untouched by the bad step).
    ///   - carried: the epoch's figures from before `startStep` (a checkpoint's
    ///     ``EpochTally``); used only when it counts exactly `startStep` steps.
    public func runEpoch(_ epoch: Int, startStep: Int = 0, carried: EpochTally? = nil,
                         shouldStop: () -> Bool = { false },
                         onStep: (StepProgress) -> Void = { _ in }) throws -> (summary: EpochSummary, completed: Bool) {
        let start = monotonicSeconds()
        let whole = startStep == 0 || carried?.steps == startStep
        var tally = whole && startStep > 0 ? carried! : EpochTally()
        var images = 0
        var completed = true
        trainLoader.start(epoch: epoch, step: startStep)
        defer { trainLoader.stop() }
        while let batch = trainLoader.next() {
            let result = try session.step(images: batch.images, targets: batch.labels, globalBatchSize: batch.globalSize)
            tally.add(result)
            images += result.images
            onStep(StepProgress(epoch: epoch, step: batch.step + 1, stepsPerEpoch: trainLoader.stepsPerEpoch,
                                globalStep: session.globalStep, loss: result.loss, runningLoss: tally.meanLoss,
                                learningRate: result.learningRate, momentum: result.momentum,
                                images: images, elapsedSeconds: monotonicSeconds() - start, tally: tally))
            if shouldStop() && batch.step + 1 < trainLoader.stepsPerEpoch {
                completed = false
                break
            }
        }
        if let group = session.dataParallel, !group.syncBatchNorm {
            // DDP's broadcast_buffers: every rank tests and saves rank 0's running statistics.
            group.broadcastBuffers(model: session.model)
        }
        if completed, epoch == session.options.epochs - 1, let recalibrationLoader {
            BatchNormRecalibration.recalibrate(session, loader: recalibrationLoader)
        }
        let trainSeconds = monotonicSeconds() - start
        let testStart = monotonicSeconds()
        var validation: EvaluationResult?, test: EvaluationResult?, ema: EvaluationResult?
        if completed, evaluates(afterEpoch: epoch), let loader = validationLoader ?? testLoader {
            let result = evaluate(session: session, loader: loader)
            if validationLoader != nil { validation = result } else { test = result }
            ema = session.ema.map { $0.withAverage(in: session.model) { evaluate(session: session, loader: loader, model: $0) } }
        }
        let testSeconds = monotonicSeconds() - testStart
        let summary = EpochSummary(epoch: epoch, firstStep: whole ? 0 : startStep, trainLoss: tally.meanLoss,
                                   trainAccuracy: tally.accuracy,
                                   validation: validation, test: test, ema: ema, trainSeconds: trainSeconds, testSeconds: testSeconds,
                                   imagesPerSecond: trainSeconds > 0 ? Double(images) / trainSeconds : 0)
        return (summary, completed)
    }
}

/// Evaluates the session's model (or `model`, such as its moving average; eval mode:
/// running statistics) over a whole loader,
/// with the plain cross-entropy (no label smoothing, whatever the training criterion), so
/// losses of runs with different recipes compare. With ``TrainingSession/dataParallel`` the
/// loader holds this rank's shards and the totals are summed over the ranks (one
/// allreduce), so every rank returns the whole set's result.
public func evaluate(session: TrainingSession, loader: BatchLoader, model: MobileNetV1? = nil) -> EvaluationResult {
    let tally = EvaluationTally.evaluate(model: model ?? session.model, loader: loader)
    var (lossSum, correct, count) = (tally.lossSum, tally.top1Correct, tally.count)
    if let group = session.dataParallel {
        let totals = group.communicator.allreduceSum([lossSum, Double(correct), Double(count)])
        (lossSum, correct, count) = (totals[0], Int(totals[1]), Int(totals[2]))
    }
    return EvaluationResult(loss: count > 0 ? lossSum / Double(count) : 0, correct: correct, count: count)
}
