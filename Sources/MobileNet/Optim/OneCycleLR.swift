import Foundation

/// Errors of the one-cycle schedule: bad construction arguments (e.g. from command-line
/// flags or a damaged checkpoint) and stepping past the end, as PyTorch raises them.
public enum OneCycleLRError: Error, CustomStringConvertible, Equatable {
    case invalidTotalSteps(Int)
    case invalidPctStart(Double)
    case emptyWarmUp(pctStart: Double, totalSteps: Int)
    case invalidStepCount(stepCount: Int, totalSteps: Int)
    case steppedPastEnd(attempted: Int, totalSteps: Int)

    public var description: String {
        switch self {
        case .invalidTotalSteps(let n):
            return "Expected positive integer total_steps, but got \(n)."
        case .invalidPctStart(let p):
            return "Expected float between 0 and 1 pct_start, but got \(p)."
        case .emptyWarmUp(let p, let n):
            return "pct_start \(p) × total_steps \(n) = 1 leaves the warm-up phase zero steps long (its learning rate would be NaN); choose another pct_start."
        case .invalidStepCount(let s, let n):
            return "Cannot resume the one-cycle schedule at step \(s): it has \(n) steps (0…\(n) are valid)."
        case .steppedPastEnd(let s, let n):
            return "Tried to step \(s) times. The specified number of total steps is \(n). Build the schedule from the real epochs × steps per epoch."
        }
    }
}

/// The 1cycle learning-rate and momentum policy, as
/// `torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps, pct_start,
/// anneal_strategy="cos", cycle_momentum, base_momentum, max_momentum, div_factor,
/// final_div_factor, three_phase=False)` (Smith & Topin 2017, fastai's two phases).
///
/// Two cosine phases over optimizer steps 0…totalSteps−1 (computed in Double, in
/// PyTorch's order of operations):
/// - warm-up, steps 0 … pctStart·totalSteps − 1: learning rate from
///   `maxLearningRate / divFactor` up to `maxLearningRate`, momentum from
///   `maxMomentum` down to `baseMomentum`;
/// - annealing, to step totalSteps − 1: learning rate down to
///   `maxLearningRate / divFactor / finalDivFactor`, momentum back up to `maxMomentum`.
///
/// Use: read (or ``apply(to:)``) the values in force, take the optimizer step, then
/// ``step()``. As in PyTorch, `step()` succeeds exactly `totalSteps` times and the
/// values in force at optimizer step i are `values(at: i)`. The momentum is cycled even
/// when the optimizer was built with momentum 0, as PyTorch does.
public struct OneCycleLR: Sendable {
    public let maxLearningRate: Double
    /// Optimizer steps in the cycle: epochs × steps per epoch.
    public let totalSteps: Int
    /// Fraction of the steps spent warming up.
    public let pctStart: Double
    public let divFactor: Double
    public let finalDivFactor: Double
    /// Momentum at the learning-rate peak.
    public let baseMomentum: Double
    /// Momentum at the start and end of the cycle.
    public let maxMomentum: Double
    /// Whether ``apply(to:)`` sets the optimizer's momentum (PyTorch's cycle_momentum).
    public let cycleMomentum: Bool
    /// Successful ``step()`` calls so far (PyTorch's `last_epoch`).
    public private(set) var stepCount: Int

    /// PyTorch's group["initial_lr"]: `maxLearningRate / divFactor`.
    public var initialLearningRate: Double { maxLearningRate / divFactor }
    /// PyTorch's group["min_lr"]: `initialLearningRate / finalDivFactor`.
    public var minLearningRate: Double { initialLearningRate / finalDivFactor }
    /// The last step of the warm-up phase, fractional: `pctStart·totalSteps − 1`.
    var warmUpEndStep: Double { pctStart * Double(totalSteps) - 1 }

    /// - Parameter stepCount: steps already taken, to resume a run (PyTorch's
    ///   `last_epoch`); 0 starts the cycle.
    /// - Throws: ``OneCycleLRError`` if `totalSteps ≤ 0`, `pctStart` is outside [0, 1],
    ///   the warm-up would be zero steps long, or `stepCount` is outside 0…totalSteps.
    public init(
        maxLearningRate: Double, totalSteps: Int, pctStart: Double = 0.3,
        divFactor: Double = 25, finalDivFactor: Double = 1e4,
        baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
        cycleMomentum: Bool = true, stepCount: Int = 0
    ) throws {
        guard totalSteps > 0 else { throw OneCycleLRError.invalidTotalSteps(totalSteps) }
        guard pctStart >= 0, pctStart <= 1 else { throw OneCycleLRError.invalidPctStart(pctStart) }
        guard pctStart * Double(totalSteps) != 1 else {
            throw OneCycleLRError.emptyWarmUp(pctStart: pctStart, totalSteps: totalSteps)
        }
        guard stepCount >= 0, stepCount <= totalSteps else {
            throw OneCycleLRError.invalidStepCount(stepCount: stepCount, totalSteps: totalSteps)
        }
        self.maxLearningRate = maxLearningRate
        self.totalSteps = totalSteps
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.baseMomentum = baseMomentum
        self.maxMomentum = maxMomentum
        self.cycleMomentum = cycleMomentum
        self.stepCount = stepCount
    }

    /// The learning rate in force now, for the next optimizer step.
    public var learningRate: Double { values(at: stepCount).learningRate }
    /// The cycled momentum in force now (written to the optimizer only if ``cycleMomentum``).
    public var momentum: Double { values(at: stepCount).momentum }

    /// The learning rate and cycled momentum in force at optimizer step `step`
    /// (0 … totalSteps; at totalSteps, after the last `step()`, PyTorch extrapolates
    /// the cosine a little past its end and so does this).
    /// - Precondition: 0 ≤ step ≤ totalSteps.
    public func values(at step: Int) -> (learningRate: Double, momentum: Double) {
        precondition(step >= 0 && step <= totalSteps, "expected a step in 0...\(totalSteps), got \(step)")
        let warmUpEnd = warmUpEndStep
        let stepNumber = Double(step)
        if stepNumber <= warmUpEnd {
            let pct = stepNumber / warmUpEnd
            return (Self.annealCos(initialLearningRate, maxLearningRate, pct),
                    Self.annealCos(maxMomentum, baseMomentum, pct))
        }
        let pct = (stepNumber - warmUpEnd) / (Double(totalSteps - 1) - warmUpEnd)
        return (Self.annealCos(maxLearningRate, minLearningRate, pct),
                Self.annealCos(baseMomentum, maxMomentum, pct))
    }

    /// Advances to the next optimizer step, as `scheduler.step()`.
    /// - Throws: ``OneCycleLRError/steppedPastEnd(attempted:totalSteps:)`` on the call
    ///   after the `totalSteps`-th, leaving the schedule unchanged (PyTorch raises there too).
    public mutating func step() throws {
        guard stepCount < totalSteps else {
            throw OneCycleLRError.steppedPastEnd(attempted: stepCount + 1, totalSteps: totalSteps)
        }
        stepCount += 1
    }

    /// Sets the optimizer's learning rate, and its momentum if ``cycleMomentum``, to the
    /// values in force now (what PyTorch writes into the param group).
    public func apply(to optimizer: SGD) {
        let now = values(at: stepCount)
        optimizer.learningRate = now.learningRate
        if cycleMomentum { optimizer.momentum = now.momentum }
    }

    /// Cosine annealing from `start` to `end` as `pct` goes from 0 to 1, in PyTorch's
    /// order of operations (`_annealing_cos`).
    static func annealCos(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        let cosOut = cos(Double.pi * pct) + 1
        return end + (start - end) / 2.0 * cosOut
    }
}
