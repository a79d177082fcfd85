/// A run's numerical state and its step: the model, SGD, OneCycleLR and the loss.
///
/// One ``step(images:targets:)`` is PyTorch's
/// `zero_grad(); loss = criterion(model(x), y); loss.backward(); optimizer.step(); scheduler.step()`
/// with the schedule's lr and momentum written into SGD first, and a guard: a
/// non-finite loss or gradient throws before the weights are touched.
public final class TrainingSession {
    /// Thrown when a step produces NaN or ±inf; the weights are left as they were before the step.
    public struct NonFiniteError: Error, CustomStringConvertible, Equatable {
        public let step: Int
        public let learningRate: Double
        public let what: String
        /// True when the step was refused before the update (loss or gradient); false when
        /// the weights already hold the overflow (found by evaluation).
        public var weightsUntouched = true
        public var description: String {
            "training diverged at step \(step): the \(what) is not finite (learning rate \(learningRate))."
                + (weightsUntouched ? " The weights were not updated." : "") + " Lower --max-lr or check the data."
        }
    }

    /// What one training step measured.
    public struct StepResult: Sendable {
        /// Mean cross-entropy over the batch (before the update).
        public let loss: Double
        /// Top-1 correct predictions in the batch (before the update).
        public let correct: Int
        /// Images the loss and count cover: the global batch (all ranks' shards).
        public let images: Int
        /// Learning rate and momentum used by the update.
        public let learningRate: Double
        public let momentum: Double
    }

    public let options: TrainingOptions
    public let model: MobileNetV1
    public let optimizer: SGD
    public private(set) var schedule: LearningRateSchedule
    public let criterion: CrossEntropyLoss
    /// The moving average of the weights (``TrainingOptions/emaDecay`` > 0), updated after
    /// the optimizer steps ``TrainingOptions/emaEvery`` divides; nil without one.
    public let ema: ExponentialMovingAverage?
    public let stepsPerEpoch: Int
    /// Data-parallel training across ranks, or nil in one process.
    public let dataParallel: DataParallel?

    /// When set, each single-process ``step(images:targets:globalBatchSize:)`` records where
    /// its wall time went, by kind of layer, in the profiler's ``StepProfiler/lastStep``
    /// (same results, bit for bit); nil (the default) runs the step unprofiled.
    public var profiler: StepProfiler? {
        didSet { model.profiler = profiler }
    }

    /// Optimizer steps taken so far (the schedule's position).
    public var globalStep: Int { schedule.stepCount }

    /// - Parameters:
    ///   - stepsPerEpoch: batches per epoch; the schedule spans `options.epochs × stepsPerEpoch`
    ///     steps (the real count; the original tutorial's script sizes its schedule for 150 epochs and trains 60).
    ///   - dataParallel: the rank group this session is one rank of (nil: one process);
    ///     `stepsPerEpoch` counts global batches then.
    /// - Throws: ``OneCycleLRError`` for an impossible schedule.
    public init(model: MobileNetV1, options: TrainingOptions, stepsPerEpoch: Int, dataParallel: DataParallel? = nil) throws {
        self.options = options
        self.model = model
        self.stepsPerEpoch = stepsPerEpoch
        self.dataParallel = dataParallel
        let excluded = Set(options.noWeightDecayKinds.compactMap(Parameter.Kind.init(rawValue:)))
        optimizer = SGD(parameters: model.namedParameters.map(\.parameter), learningRate: options.maxLearningRate / options.divFactor,
                        momentum: options.maxMomentum, weightDecay: options.weightDecay, nesterov: options.nesterov,
                        excludingFromWeightDecay: excluded)
        schedule = try Self.schedule(options, totalSteps: options.epochs * stepsPerEpoch)
        criterion = CrossEntropyLoss(labelSmoothing: Float(options.labelSmoothing))
        ema = options.emaDecay > 0 ? ExponentialMovingAverage(of: model, decay: options.emaDecay, every: options.emaEvery) : nil
    }

    /// The model evaluated, selected and saved as the run's result: the moving average when
    /// there is one, else the trained model.
    public var resultModel: MobileNetV1 { ema?.model ?? model }

    /// Moves the schedule to `step` optimizer steps taken (resume).
    public func seek(toStep step: Int) throws {
        schedule = try Self.schedule(options, totalSteps: options.epochs * stepsPerEpoch, stepCount: step)
    }

    /// The schedule `options` ask for over `totalSteps` steps, at `stepCount` steps taken:
    /// OneCycleLR (--max-lr, --pct-start, --div-factor, --final-div-factor, momentum cycled
    /// between --max-momentum and --base-momentum), or linear warm-up and decay
    /// (``LinearWarmupLR``: from --max-lr / --div-factor up to --max-lr over --warmup-pct of
    /// the steps, then down to --final-lr-factor × --max-lr, momentum --max-momentum throughout).
    /// - Throws: ``OneCycleLRError`` for an impossible schedule.
    public static func schedule(_ options: TrainingOptions, totalSteps: Int, stepCount: Int = 0) throws -> LearningRateSchedule {
        switch options.schedule {
        case .onecycle:
            return .oneCycle(try OneCycleLR(maxLearningRate: options.maxLearningRate, totalSteps: totalSteps, pctStart: options.pctStart,
                                            divFactor: options.divFactor, finalDivFactor: options.finalDivFactor,
                                            baseMomentum: options.baseMomentum, maxMomentum: options.maxMomentum, stepCount: stepCount))
        case .linear:
            return .linear(try LinearWarmupLR(maxLearningRate: options.maxLearningRate, totalSteps: totalSteps, warmupPct: options.warmupPct,
                                              startFactor: 1 / options.divFactor, finalFactor: options.finalLearningRateFactor,
                                              momentum: options.maxMomentum, stepCount: stepCount))
        }
    }

    /// One training step on a batch.
    /// - Parameters:
    ///   - images: normalised images [3, 32, 32, N] (engine layout); with ``dataParallel``,
    ///     this rank's shard of the global batch.
    ///   - targets: N class indices.
    ///   - globalBatchSize: images in the global batch (all ranks), used with ``dataParallel``;
    ///     nil means N.
    /// - Throws: ``NonFiniteError`` (weights untouched), or ``OneCycleLRError`` past the
    ///   schedule's end. With ``dataParallel`` every rank throws alike (the checks read the
    ///   allreduced loss and gradients).
    public func step(images: FeatureMap, targets: UnsafeBufferPointer<Int32>, globalBatchSize: Int? = nil) throws -> StepResult {
        if let dataParallel {
            return try dataParallelStep(dataParallel, images: images, targets: targets, globalBatchSize: globalBatchSize ?? targets.count)
        }
        profiler?.beginStep()
        let logits = model.forward(images, training: true)
        let loss = Double(profiler.timed(.head) { criterion.forward(logits, targets: targets) })
        let learningRate = schedule.learningRate
        guard loss.isFinite else { throw NonFiniteError(step: globalStep, learningRate: learningRate, what: "loss") }
        profiler.timed(.optimizer) { optimizer.zeroGrad() }
        model.backward(profiler.timed(.head) { criterion.backward() })
        let momentum = try profiler.timed(.optimizer) { try update(learningRate: learningRate) }
        profiler?.endStep()
        return StepResult(loss: loss, correct: criterion.correct, images: targets.count, learningRate: learningRate, momentum: momentum)
    }

    /// The step after backward: refuses non-finite gradients (weights untouched), then the
    /// schedule's lr and momentum, SGD's update, the schedule's step and the moving average's.
    /// - Returns: the momentum the update used.
    private func update(learningRate: Double) throws -> Double {
        guard optimizer.gradientsAreFinite() else {
            throw NonFiniteError(step: globalStep, learningRate: learningRate, what: "gradient")
        }
        schedule.apply(to: optimizer)
        let momentum = optimizer.momentum
        optimizer.step()
        try schedule.step()
        ema?.step(from: model, globalStep: globalStep)
        return momentum
    }

    /// The data-parallel step (see ``DataParallel``): this rank backpropagates its share
    /// n/B of the global-batch mean loss, the gradients are summed over the ranks, and
    /// every rank applies the same update.
    private func dataParallelStep(_ group: DataParallel, images: FeatureMap, targets: UnsafeBufferPointer<Int32>,
                                  globalBatchSize: Int) throws -> StepResult {
        let communicator = group.communicator
        let logits = group.syncBatchNorm ? model.syncedTrainingForward(images, communicator: communicator)
                                         : model.forward(images, training: true)
        let localLoss = Double(criterion.forward(logits, targets: targets))
        optimizer.zeroGrad()
        let gradLogits = criterion.backward()
        let share = Float(targets.count) / Float(globalBatchSize)
        for i in 0..<gradLogits.shape.count { gradLogits.data[i] *= share }
        if group.syncBatchNorm {
            model.syncedBackward(gradLogits, communicator: communicator)
        } else {
            model.backward(gradLogits)
        }
        let totals = group.allreduceGradients(optimizer.parameters, lossSum: localLoss * Double(targets.count), correct: criterion.correct)
        let loss = totals.lossSum / Double(globalBatchSize)
        let learningRate = schedule.learningRate
        guard loss.isFinite else { throw NonFiniteError(step: globalStep, learningRate: learningRate, what: "loss") }
        let momentum = try update(learningRate: learningRate)
        return StepResult(loss: loss, correct: totals.correct, images: globalBatchSize, learningRate: learningRate, momentum: momentum)
    }
}
