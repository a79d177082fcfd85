/// Time spent in MPI collectives during an epoch's training (data-parallel runs).
public struct CollectiveShare: Equatable, Sendable {
    public let ranks: Int
    /// Every collective (gradient buckets, BatchNorm statistics, stop flags), and the gradient buckets alone, in seconds.
    public let seconds: Double
    public let gradientSeconds: Double
    /// The epoch's training seconds.
    public let trainSeconds: Double
    /// `seconds` as a fraction of `trainSeconds`.
    public var fraction: Double { trainSeconds > 0 ? seconds / trainSeconds : 0 }
}

/// What happens during ``TrainingRunSetup/execute(metrics:shouldStop:onEvent:)``, for the
/// caller to show; the metrics file has already been written when it is reported.
public enum TrainingRunEvent {
    /// After every optimizer step.
    case step(StepProgress)
    /// After every complete epoch (and its checkpoint).
    case epoch(EpochReport)
    /// After a completed run with a validation set: the test set, evaluated once.
    case test(TrainingRun.TestResult)

    /// One finished epoch.
    public struct EpochReport {
        public let end: TrainingRun.EpochEnd
        /// The side of the epoch's training crops (32 unless a ``CropSchedule`` made them smaller).
        public let cropSize: Int
        /// Data-parallel runs: the epoch's time in collectives; nil in one process.
        public let collectives: CollectiveShare?
        /// Seconds since ``TrainingRunSetup/execute(metrics:shouldStop:onEvent:)`` began.
        public let elapsedSeconds: Double
    }
}

extension TrainingRunSetup {
    /// How ``execute(metrics:shouldStop:onEvent:)`` ended.
    public enum Ending: Equatable, Sendable {
        /// The resumed run had already run every epoch; nothing was trained.
        case alreadyComplete
        /// Every epoch ran (and, with a validation set, the test pass after them).
        case completed
        /// A stop was requested; the checkpoint saved then (nil without a checkpoint folder).
        case stopped(checkpoint: String?)
    }

    /// Runs the remaining epochs: under MPI first gives every rank rank 0's weights (as DDP
    /// at construction); writes the metrics lines (``MetricsLine``: options, resume, a step line
    /// every 100 steps, epoch, test, interrupted) to `metrics`; reports each step and epoch to
    /// `onEvent`; after a completed run with a validation set, evaluates the test set once.
    /// - Parameters:
    ///   - metrics: the metrics file (nil: none, as on ranks other than 0).
    ///   - shouldStop: polled after every step; true ends the run after the current step with a checkpoint.
    /// - Throws: as ``TrainingRun/run(shouldStop:onStep:onEpoch:)`` and ``TrainingRun/testOnce()``.
    public func execute(metrics: MetricsLog?, shouldStop: () -> Bool, onEvent: (TrainingRunEvent) -> Void) throws -> Ending {
        let session = run.session
        if let dataParallel = session.dataParallel {
            dataParallel.broadcastState(model: session.model, optimizer: session.optimizer)
        }
        // A finished run resumed: nothing is trained, so its metrics file gets no options or resume line.
        if run.isComplete { return .alreadyComplete }
        metrics?.write(.options(options))
        if let checkpoint {
            metrics?.write(.resume(.init(from: checkpoint.folder, epoch: checkpoint.epoch + 1, step: checkpoint.step, globalStep: checkpoint.globalStep)))
        }
        let start = monotonicSeconds()
        var collectiveSeconds = 0.0, gradientSeconds = 0.0
        let outcome = try run.run(shouldStop: shouldStop, onStep: { p in
            if p.globalStep % 100 == 0 {
                metrics?.write(.step(.init(epoch: p.epoch + 1, step: p.globalStep, loss: p.loss, learningRate: p.learningRate, momentum: p.momentum)))
            }
            onEvent(.step(p))
        }, onEpoch: { end in
            var collectives: CollectiveShare?
            if let dataParallel = session.dataParallel {
                collectives = CollectiveShare(ranks: dataParallel.shard.count, seconds: dataParallel.collectiveSeconds - collectiveSeconds,
                                              gradientSeconds: dataParallel.gradientAllreduceSeconds - gradientSeconds,
                                              trainSeconds: end.summary.trainSeconds)
                collectiveSeconds = dataParallel.collectiveSeconds
                gradientSeconds = dataParallel.gradientAllreduceSeconds
            }
            let report = TrainingRunEvent.EpochReport(end: end, cropSize: options.trainingAugmentation.cropSize(atEpoch: end.summary.epoch),
                                                      collectives: collectives, elapsedSeconds: monotonicSeconds() - start)
            metrics?.write(.epoch(MetricsLine.Epoch(report)))
            onEvent(.epoch(report))
        })
        switch outcome {
        case .completed:
            if validation != nil, let result = try run.testOnce() {
                metrics?.write(.test(MetricsLine.Test(result, testTimeAugmentation: options.testTimeAugmentation)))
                onEvent(.test(result))
            }
            return .completed
        case .stopped(let folder):
            metrics?.write(.interrupted(.init(epoch: run.epoch + 1, step: run.step, globalStep: session.globalStep, checkpoint: folder ?? "")))
            return .stopped(checkpoint: folder)
        }
    }
}

extension MetricsLine.Epoch {
    /// The epoch line of a finished epoch.
    public init(_ report: TrainingRunEvent.EpochReport) {
        let s = report.end.summary
        self.init(epoch: s.epoch + 1)
        (trainLoss, trainAccuracy) = (s.trainLoss, s.trainAccuracy)
        (testLoss, testAccuracy) = (s.test?.loss, s.test?.accuracy)
        (validationLoss, validationAccuracy) = (s.validation?.loss, s.validation?.accuracy)
        (emaLoss, emaAccuracy) = (s.ema?.loss, s.ema?.accuracy)
        (epochSeconds, trainSeconds, testSeconds) = (s.epochSeconds, s.trainSeconds, s.testSeconds)
        (imagesPerSecond, trainFromStep, cropSize) = (s.imagesPerSecond, s.firstStep, report.cropSize)
        checkpoint = report.end.checkpoint
        (ranks, collectiveSeconds, gradientAllreduceSeconds) = (report.collectives?.ranks, report.collectives?.seconds, report.collectives?.gradientSeconds)
    }
}

extension MetricsLine.Test {
    /// The test line of the test pass after a run.
    public init(_ result: TrainingRun.TestResult, testTimeAugmentation: TestTimeAugmentation) {
        self.init()
        (finalLoss, finalAccuracy, finalTop5Accuracy) = (result.final.loss, result.final.top1Accuracy, result.final.topKAccuracy)
        images = result.final.count
        if result.finalIsAverage { finalIsAverage = true }
        if testTimeAugmentation != .none { self.testTimeAugmentation = testTimeAugmentation.rawValue }
        if let best = result.best {
            bestEpoch = best.epochsCompleted
            (bestLoss, bestAccuracy, bestTop5Accuracy) = (best.tally.loss, best.tally.top1Accuracy, best.tally.topKAccuracy)
        }
    }
}
