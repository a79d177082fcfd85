import Foundation

/// A whole run: the epochs of a ``TrainingLoop`` with checkpoints, stop requests and
/// resuming. After every epoch it saves a checkpoint (and `best.safetensors` when the
/// selection accuracy — validation if the loop has a validation set, else test — improved)
/// into its ``CheckpointDirectory`` (with ``TrainingSession/ema``, selected on and holding
/// the moving average); when `shouldStop` turns true it finishes the current
/// step, saves, and returns. With a validation set, ``testOnce()`` evaluates the test set
/// after the run, for the final weights and the best checkpoint.
///
/// Resuming (``resume(from:)``) restores model, momentum buffers and schedule position and
/// continues at the checkpoint's (epoch, step); since every batch is a function of
/// (seed, epoch, step), the weights then equal those of a run never interrupted, bit for bit.
/// After a resume mid-epoch, that epoch's training loss and accuracy cover all its steps:
/// the checkpoint carries the epoch's running sums (``EpochTally``); a checkpoint written
/// without them gives figures of the steps after the resume (``EpochSummary/firstStep`` > 0).
public final class TrainingRun {
    /// What ``run(shouldStop:onStep:onEpoch:)`` reports after each epoch.
    public struct EpochEnd {
        public let summary: EpochSummary
        /// The checkpoint folder saved after the epoch (nil without a directory).
        public let checkpoint: String?
        /// Whether the selection accuracy (validation, else test) was the best so far (and
        /// `best.safetensors` was written).
        public let isBest: Bool
    }

    /// How ``run(shouldStop:onStep:onEpoch:)`` ended.
    public enum Outcome: Equatable, Sendable {
        /// Every epoch ran.
        case completed
        /// A stop was requested; the checkpoint saved then (nil without a directory).
        case stopped(checkpoint: String?)
    }

    public let loop: TrainingLoop
    /// Recorded in every checkpoint.
    public let dataset: CheckpointDataset
    /// Where checkpoints go (nil: none are written).
    public let checkpoints: CheckpointDirectory?
    /// The position: `step` steps of 0-based `epoch` done.
    public private(set) var epoch = 0
    public private(set) var step = 0
    /// The running figures of the epoch in progress (nil at an epoch's start, or after a
    /// resume from a checkpoint that carried none).
    public private(set) var epochTally: EpochTally?
    /// Best selection accuracy (validation, else test) after an epoch so far, in [0, 1].
    public private(set) var bestAccuracy: Double?
    private var lastSaved: (folder: String, globalStep: Int)?

    public var session: TrainingSession { loop.session }
    /// True once every epoch has run.
    public var isComplete: Bool { epoch >= session.options.epochs }

    public init(loop: TrainingLoop, dataset: CheckpointDataset, checkpoints: CheckpointDirectory?) {
        self.loop = loop
        self.dataset = dataset
        self.checkpoints = checkpoints
    }

    /// Continues from `checkpoint` (see ``TrainingCheckpoint/restore(into:)``).
    /// - Throws: as ``TrainingCheckpoint/restore(into:)``; the run is unchanged then.
    public func resume(from checkpoint: TrainingCheckpoint) throws {
        try checkpoint.restore(into: session)
        epoch = checkpoint.epoch
        step = checkpoint.step
        epochTally = checkpoint.epochTally
        bestAccuracy = checkpoint.bestAccuracy
    }

    /// Runs the remaining epochs.
    /// - Parameters:
    ///   - shouldStop: polled after every step (and before each epoch); true ends the run
    ///     after the current step with a checkpoint.
    ///   - onStep: after every step; `onEpoch`: after every complete epoch and its saves.
    /// - Throws: ``TrainingSession/NonFiniteError`` (nothing is saved: the last good
    ///   checkpoint stays as it was), ``CheckpointError``, ``FileWriteError``.
    public func run(shouldStop: () -> Bool = { false }, onStep: (StepProgress) -> Void = { _ in },
                    onEpoch: (EpochEnd) -> Void = { _ in }) throws -> Outcome {
        while !isComplete {
            if shouldStop() { return .stopped(checkpoint: try saveCheckpoint()) }
            let (summary, completed) = try loop.runEpoch(epoch, startStep: step, carried: epochTally, shouldStop: shouldStop) { progress in
                step = progress.step
                epochTally = progress.tally
                onStep(progress)
            }
            guard completed else { return .stopped(checkpoint: try saveCheckpoint()) }
            if let test = summary.selection, !test.loss.isFinite {
                // Finite training losses but an eval-mode overflow (weights or running
                // statistics): stop before anything of this epoch is saved.
                throw TrainingSession.NonFiniteError(step: session.globalStep, learningRate: session.schedule.values(at: session.globalStep).learningRate,
                                                     what: "\(summary.validation != nil ? "validation" : "test") loss after epoch \(epoch + 1)",
                                                     weightsUntouched: false)
            }
            epoch += 1
            step = 0
            epochTally = nil
            var isBest = false
            if let accuracy = summary.selection?.accuracy, accuracy > (bestAccuracy ?? -1) {
                bestAccuracy = accuracy
                isBest = true
                try saveBest(accuracy: accuracy)
            }
            onEpoch(EpochEnd(summary: summary, checkpoint: try saveCheckpoint(), isBest: isBest))
        }
        return .completed
    }

    /// Saves a checkpoint of the current position, unless this run already saved this
    /// global step (then returns that folder).
    /// - Returns: the checkpoint folder, or nil without a directory.
    /// - Throws: ``CheckpointError`` (non-finite tensor, failed write naming the file);
    ///   the previous checkpoint is then untouched.
    @discardableResult
    public func saveCheckpoint() throws -> String? {
        guard let checkpoints else { return nil }
        if let lastSaved, lastSaved.globalStep == session.globalStep { return lastSaved.folder }
        let folder = try checkpoints.save(globalStep: session.globalStep) { folder in
            try TrainingCheckpoint.write(session: session, epoch: epoch, step: step, dataset: dataset,
                                         bestAccuracy: bestAccuracy, epochTally: step > 0 ? epochTally : nil, into: folder)
        }
        lastSaved = (folder, session.globalStep)
        return folder
    }

    private func saveBest(accuracy: Double) throws {
        guard let checkpoints else { return }
        try TrainingCheckpoint.requireFinite(session.resultModel)
        try checkpoints.saveBest(session.resultModel, metadata: [
            "epochs_completed": "\(epoch)", "global_step": "\(session.globalStep)",
            CheckpointDataset.metadataKey: TrainingCheckpoint.jsonText(dataset),
            (loop.validationLoader != nil ? "validation_accuracy" : "test_accuracy"): "\(accuracy)",
        ])
    }

    /// The test set, evaluated once after a run that selected on a validation set.
    public struct TestResult {
        /// The final weights' evaluation (their moving average's when ``finalIsAverage``).
        public let final: EvaluationTally
        /// True when ``final`` evaluated ``TrainingSession/ema``'s model.
        public let finalIsAverage: Bool
        /// `best.safetensors`' evaluation and the epochs it had completed (nil without a
        /// checkpoint directory or best checkpoint).
        public let best: (tally: EvaluationTally, epochsCompleted: Int)?
    }

    /// Evaluates the test set once (with the options' ``TrainingOptions/testTimeAugmentation``):
    /// the final weights (the moving average with ``TrainingSession/ema``, whose weights
    /// `best.safetensors` then holds too), and `best.safetensors` (the epoch with the best validation accuracy)
    /// when it was saved. Call after a completed run
    /// whose checkpoints are saved: the best weights are loaded into the session's model
    /// (its activation buffers are reused, so no second model's memory is needed), which
    /// then holds them.
    /// - Returns: nil without a test loader.
    /// - Throws: ``SafetensorsError``, ``StateDictError`` reading the best checkpoint.
    ///
    /// With ``TrainingSession/dataParallel`` (collective: every rank calls it): each rank
    /// evaluates its shards of the test set and the tallies are summed; rank 0, which holds
    /// the checkpoints, reads `best.safetensors` and broadcasts its weights to the other ranks.
    public func testOnce() throws -> TestResult? {
        guard let testLoader = loop.testLoader else { return nil }
        let augmentation = session.options.testTimeAugmentation
        let group = session.dataParallel
        func evaluated(_ model: MobileNetV1) -> EvaluationTally {
            var tally = EvaluationTally.evaluate(model: model, loader: testLoader, testTimeAugmentation: augmentation)
            if let group { tally.sum(over: group.communicator) }
            return tally
        }
        let final = session.ema.map { $0.withAverage(in: session.model, evaluated) } ?? evaluated(session.model)
        // Rank 0 (or the single process) reads the best model and tells the others its
        // epochs (-1 when unrecorded), or `none`; a failed read ends the pass on every rank.
        let none = Int64.min
        var failure: Error?
        var epochs = none
        if let checkpoints, FileManager.default.fileExists(atPath: checkpoints.bestPath) {
            do {
                let file = try SafetensorsFile(contentsOfFile: checkpoints.bestPath)
                let recorded = Int64(file.metadata["epochs_completed"] ?? "") ?? -1
                if recorded != Int64(epoch) { try session.model.load(from: file) }
                epochs = recorded
            } catch {
                failure = error
            }
        }
        if let group { withUnsafeMutableBytes(of: &epochs) { group.communicator.broadcast($0, root: 0) } }
        if let failure { throw failure }
        var best: (EvaluationTally, Int)?
        if epochs == Int64(epoch) {
            best = (final, Int(epochs))  // the final weights are the best ones
        } else if epochs != none {
            if let group { group.broadcastState(model: session.model, optimizer: session.optimizer) }
            best = (evaluated(session.model), Int(epochs))
        }
        return TestResult(final: final, finalIsAverage: session.ema != nil, best: best)
    }
}
