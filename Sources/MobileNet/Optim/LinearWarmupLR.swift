/// Linear warm-up then linear decay of the learning rate, as
/// `torch.optim.lr_scheduler.SequentialLR(optimizer, [LinearLR(startFactor, 1.0, W),
/// LinearLR(1.0, finalFactor, T − W)], milestones=[W])` (just `LinearLR(1.0, finalFactor, T)`
/// when W = 0), with the momentum held constant.
///
/// Over T = ``totalSteps`` optimizer steps with W = ⌊warmupPct·T⌋ warm-up steps and
/// R = T − W, the learning rate in force at step t (the closed form of both LinearLRs):
/// - t ≤ W: maxLearningRate · (startFactor + (1 − startFactor)·t/W);
/// - t ≥ W: maxLearningRate · (1 + (finalFactor − 1)·min(t − W, R)/R).
/// At step T, after the last `step()`, it is finalFactor × maxLearningRate. Like PyTorch's
/// LinearLR, stepping past T keeps that value (no error).
public struct LinearWarmupLR: Sendable, Equatable {
    public let maxLearningRate: Double
    public let totalSteps: Int
    /// W, the warm-up steps: ⌊warmupPct · totalSteps⌋.
    public let warmupSteps: Int
    /// The learning rate at step 0 as a fraction of the peak (LinearLR's start_factor).
    public let startFactor: Double
    /// The learning rate at step T as a fraction of the peak (the decay's end_factor).
    public let finalFactor: Double
    /// SGD's momentum throughout.
    public let momentum: Double
    public private(set) var stepCount: Int

    /// - Throws: ``OneCycleLRError/invalidTotalSteps(_:)``, ``OneCycleLRError/invalidPctStart(_:)``
    ///   for a warm-up fraction outside [0, 1), ``OneCycleLRError/invalidStepCount(stepCount:totalSteps:)``.
    public init(maxLearningRate: Double, totalSteps: Int, warmupPct: Double, startFactor: Double, finalFactor: Double,
                momentum: Double, stepCount: Int = 0) throws {
        guard totalSteps > 0 else { throw OneCycleLRError.invalidTotalSteps(totalSteps) }
        guard warmupPct >= 0, warmupPct < 1 else { throw OneCycleLRError.invalidPctStart(warmupPct) }
        guard stepCount >= 0, stepCount <= totalSteps else {
            throw OneCycleLRError.invalidStepCount(stepCount: stepCount, totalSteps: totalSteps)
        }
        self.maxLearningRate = maxLearningRate
        self.totalSteps = totalSteps
        warmupSteps = Int(warmupPct * Double(totalSteps))
        self.startFactor = startFactor
        self.finalFactor = finalFactor
        self.momentum = momentum
        self.stepCount = stepCount
    }

    /// The learning rate in force at optimizer step `step` (≥ 0), and the momentum.
    public func values(at step: Int) -> (learningRate: Double, momentum: Double) {
        precondition(step >= 0, "expected a step ≥ 0, got \(step)")
        let w = warmupSteps, r = totalSteps - warmupSteps
        let factor = step < w ? startFactor + (1 - startFactor) * Double(step) / Double(w)
                              : 1 + (finalFactor - 1) * Double(min(step - w, r)) / Double(r)
        return (maxLearningRate * factor, momentum)
    }

    /// Advances to the next optimizer step, as `scheduler.step()`.
    public mutating func step() { stepCount += 1 }
}

/// The learning-rate schedule of a run: ``OneCycleLR`` (the reference recipe's) or
/// ``LinearWarmupLR``. Read (or ``apply(to:)``) the values in force, take the optimizer
/// step, then ``step()``.
public enum LearningRateSchedule: Sendable {
    case oneCycle(OneCycleLR)
    case linear(LinearWarmupLR)

    /// Optimizer steps taken so far.
    public var stepCount: Int {
        switch self {
        case .oneCycle(let s): s.stepCount
        case .linear(let s): s.stepCount
        }
    }

    /// The learning rate and momentum in force at optimizer step `step`.
    public func values(at step: Int) -> (learningRate: Double, momentum: Double) {
        switch self {
        case .oneCycle(let s): s.values(at: step)
        case .linear(let s): s.values(at: step)
        }
    }

    /// The learning rate in force now.
    public var learningRate: Double { values(at: stepCount).learningRate }

    /// - Throws: ``OneCycleLRError/steppedPastEnd(attempted:totalSteps:)`` past a one-cycle schedule's end.
    public mutating func step() throws {
        switch self {
        case .oneCycle(var s):
            try s.step()
            self = .oneCycle(s)
        case .linear(var s):
            s.step()
            self = .linear(s)
        }
    }

    /// Writes the values in force into `optimizer`: the learning rate, and the momentum
    /// (one-cycle: when it cycles momentum; linear: always, its constant momentum).
    public func apply(to optimizer: SGD) {
        switch self {
        case .oneCycle(let s):
            s.apply(to: optimizer)
        case .linear(let s):
            let now = s.values(at: s.stepCount)
            optimizer.learningRate = now.learningRate
            optimizer.momentum = now.momentum
        }
    }
}
