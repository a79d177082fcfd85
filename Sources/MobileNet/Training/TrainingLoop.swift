#if canImport(Glibc)
import Glibc
#endif

/// Monotonic wall-clock seconds (CLOCK_MONOTONIC), for timing epochs and steps.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

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
}

/// What one epoch measured.
public struct EpochSummary: Sendable {
    /// 0-based epoch.
    public let epoch: Int
    /// The step the epoch started from: 0, or the step a resumed run continued at (then
    /// the training figures cover only the steps after it).
    public let firstStep: Int
    /// Mean training loss per image and top-1 accuracy on the augmented training batches
    /// (training mode, before each update), as the seed's loop reports them.
    public let trainLoss: Double
    public let trainAccuracy: Double
    /// Test-set evaluation after the epoch (nil without a test loader).
    public let test: EvaluationResult?
    /// Seconds of the training part, of the test pass, and of the whole epoch.
    public let trainSeconds: Double
    public let testSeconds: Double
    public var epochSeconds: Double { trainSeconds + testSeconds }
    /// Training images per second (data loading included).
    public let imagesPerSecond: Double
}

/// The epoch loop: batches from a ``BatchLoader`` through a ``TrainingSession``,
/// then an evaluation pass. Printing, metrics files and checkpoints are the caller's,
/// through the callbacks.
public final class TrainingLoop {
    public let session: TrainingSession
    public let trainLoader: BatchLoader
    public let testLoader: BatchLoader?

    public init(session: TrainingSession, trainLoader: BatchLoader, testLoader: BatchLoader?) {
        self.session = session
        self.trainLoader = trainLoader
        self.testLoader = testLoader
    }

    /// Trains one epoch from `startStep` (resume) and evaluates.
    /// - Parameters:
    ///   - shouldStop: polled after every step; returning true ends the epoch early
    ///     (the summary then covers the steps taken, and no test pass runs).
    ///   - onStep: called after every step.
    /// - Returns: the summary, and whether the epoch ran to its end.
    /// - Throws: ``TrainingSession/NonFiniteError`` (weights untouched by the bad step).
    public func runEpoch(_ epoch: Int, startStep: Int = 0,
                         shouldStop: () -> Bool = { false },
                         onStep: (StepProgress) -> Void = { _ in }) throws -> (summary: EpochSummary, completed: Bool) {
        let start = monotonicSeconds()
        var lossSum = 0.0, correct = 0, images = 0
        var completed = true
        trainLoader.start(epoch: epoch, step: startStep)
        defer { trainLoader.stop() }
        while let batch = trainLoader.next() {
            let result = try session.step(images: batch.images, targets: batch.labels)
            lossSum += result.loss * Double(batch.size)
            correct += result.correct
            images += batch.size
            onStep(StepProgress(epoch: epoch, step: batch.step + 1, stepsPerEpoch: trainLoader.stepsPerEpoch,
                                globalStep: session.globalStep, loss: result.loss, runningLoss: lossSum / Double(images),
                                learningRate: result.learningRate, momentum: result.momentum,
                                images: images, elapsedSeconds: monotonicSeconds() - start))
            if shouldStop() && batch.step + 1 < trainLoader.stepsPerEpoch {
                completed = false
                break
            }
        }
        let trainSeconds = monotonicSeconds() - start
        let testStart = monotonicSeconds()
        let test = completed ? testLoader.map { evaluate(session: session, loader: $0) } : nil
        let testSeconds = monotonicSeconds() - testStart
        let summary = EpochSummary(epoch: epoch, firstStep: startStep, trainLoss: images > 0 ? lossSum / Double(images) : .nan,
                                   trainAccuracy: images > 0 ? Double(correct) / Double(images) : 0,
                                   test: test, trainSeconds: trainSeconds, testSeconds: testSeconds,
                                   imagesPerSecond: trainSeconds > 0 ? Double(images) / trainSeconds : 0)
        return (summary, completed)
    }
}

/// Evaluates the session's model (eval mode: running statistics) over a whole loader.
public func evaluate(session: TrainingSession, loader: BatchLoader) -> EvaluationResult {
    var result = EvaluationResult(loss: 0, correct: 0, count: 0)
    loader.start(epoch: 0)
    defer { loader.stop() }
    while let batch = loader.next() {
        let (loss, correct) = session.evaluate(images: batch.images, targets: batch.labels)
        result.loss += loss * Double(batch.size)
        result.correct += correct
        result.count += batch.size
    }
    if result.count > 0 { result.loss /= Double(result.count) }
    return result
}
