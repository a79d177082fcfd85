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
        /// Learning rate and momentum used by the update.
        public let learningRate: Double
        public let momentum: Double
    }

    public let options: TrainingOptions
    public let model: MobileNetV1
    public let optimizer: SGD
    public private(set) var schedule: OneCycleLR
    public let criterion: CrossEntropyLoss
    public let stepsPerEpoch: Int

    /// Optimizer steps taken so far (the schedule's position).
    public var globalStep: Int { schedule.stepCount }

    /// - Parameters:
    ///   - stepsPerEpoch: batches per epoch; the schedule spans `options.epochs × stepsPerEpoch`
    ///     steps (the real count, unlike the seed's 150-vs-60 mismatch).
    /// - Throws: ``OneCycleLRError`` for an impossible schedule.
    public init(model: MobileNetV1, options: TrainingOptions, stepsPerEpoch: Int) throws {
        self.options = options
        self.model = model
        self.stepsPerEpoch = stepsPerEpoch
        let excluded = Set(options.noWeightDecayKinds.compactMap(Parameter.Kind.init(rawValue:)))
        optimizer = SGD(parameters: model.namedParameters.map(\.parameter), learningRate: options.maxLearningRate / options.divFactor,
                        momentum: options.maxMomentum, weightDecay: options.weightDecay, nesterov: options.nesterov,
                        excludingFromWeightDecay: excluded)
        schedule = try OneCycleLR(maxLearningRate: options.maxLearningRate, totalSteps: options.epochs * stepsPerEpoch,
                                  pctStart: options.pctStart, divFactor: options.divFactor, finalDivFactor: options.finalDivFactor,
                                  baseMomentum: options.baseMomentum, maxMomentum: options.maxMomentum)
        criterion = CrossEntropyLoss(labelSmoothing: Float(options.labelSmoothing))
    }

    /// Moves the schedule to `step` optimizer steps taken (resume).
    public func seek(toStep step: Int) throws {
        schedule = try OneCycleLR(maxLearningRate: schedule.maxLearningRate, totalSteps: schedule.totalSteps,
                                  pctStart: schedule.pctStart, divFactor: schedule.divFactor, finalDivFactor: schedule.finalDivFactor,
                                  baseMomentum: schedule.baseMomentum, maxMomentum: schedule.maxMomentum, stepCount: step)
    }

    /// One training step on a batch.
    /// - Parameters:
    ///   - images: normalised images [3, 32, 32, N] (engine layout).
    ///   - targets: N class indices.
    /// - Throws: ``NonFiniteError`` (weights untouched), or ``OneCycleLRError`` past the schedule's end.
    public func step(images: FeatureMap, targets: UnsafeBufferPointer<Int32>) throws -> StepResult {
        let logits = model.forward(images, training: true)
        let loss = Double(criterion.forward(logits, targets: targets))
        let learningRate = schedule.learningRate
        guard loss.isFinite else { throw NonFiniteError(step: globalStep, learningRate: learningRate, what: "loss") }
        optimizer.zeroGrad()
        model.backward(criterion.backward())
        guard optimizer.gradientsAreFinite() else {
            throw NonFiniteError(step: globalStep, learningRate: learningRate, what: "gradient")
        }
        schedule.apply(to: optimizer)
        let momentum = optimizer.momentum
        optimizer.step()
        try schedule.step()
        return StepResult(loss: loss, correct: criterion.correct, learningRate: learningRate, momentum: momentum)
    }
}
