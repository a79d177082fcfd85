/// The running training figures of the epoch in progress: what its train loss and
/// accuracy are computed from. A checkpoint saved mid-epoch records it (metadata
/// `epoch_tally`), so a resumed epoch reports the figures of all its steps, not only of
/// those after the resume.
public struct EpochTally: Codable, Equatable, Sendable {
    /// Steps of the epoch counted, images in them (the global batch under MPI), top-1
    /// correct predictions and the sum of per-image losses (mean loss × images per step).
    public var steps: Int
    public var images: Int
    public var correct: Int
    public var lossSum: Double

    public init(steps: Int = 0, images: Int = 0, correct: Int = 0, lossSum: Double = 0) {
        self.steps = steps
        self.images = images
        self.correct = correct
        self.lossSum = lossSum
    }

    /// Counts one step's result.
    public mutating func add(_ result: TrainingSession.StepResult) {
        steps += 1
        images += result.images
        correct += result.correct
        lossSum += result.loss * Double(result.images)
    }

    /// Mean loss per image (NaN before any image) and top-1 accuracy in [0, 1].
    public var meanLoss: Double { images > 0 ? lossSum / Double(images) : .nan }
    public var accuracy: Double { images > 0 ? Double(correct) / Double(images) : 0 }
}
