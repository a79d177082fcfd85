/// Everything that defines a training run: the seed's recipe by default
/// (OneCycleLR max 0.1, SGD momentum cycled 0.95→0.85→0.95, weight decay 5e-4,
/// batch 128, 60 epochs). Saved in checkpoints so a resumed run can be checked
/// against the flags it is resumed with.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs: Int = 60
    public var batchSize: Int = 128
    public var testBatchSize: Int = 100
    /// OneCycleLR's max_lr.
    public var maxLearningRate: Double = 0.1
    public var weightDecay: Double = 5e-4
    /// Parameter kinds that get no weight decay (MobileNets §4 advises none on depthwise filters).
    public var noWeightDecayKinds: [String] = []
    public var nesterov: Bool = false
    public var divFactor: Double = 25
    public var finalDivFactor: Double = 1e4
    public var pctStart: Double = 0.3
    public var baseMomentum: Double = 0.85
    public var maxMomentum: Double = 0.95
    public var labelSmoothing: Double = 0
    public var widthMultiplier: Double = 1.0
    public var numClasses: Int = 10
    public var seed: UInt64 = 0
    /// Use only the first N training / test images (quick runs); nil for all.
    public var limitTrain: Int? = nil
    public var limitTest: Int? = nil
    /// Drop the last partial training batch (PyTorch's drop_last); the seed keeps it.
    public var dropLast: Bool = false

    public init() {}

    /// An invalid option: the flag's name and what is wrong with it.
    public struct InvalidOption: Error, CustomStringConvertible, Equatable {
        public let flag: String
        public let message: String
        public var description: String { "\(flag): \(message)" }
    }

    /// Checks every value's range.
    /// - Throws: ``InvalidOption`` naming the first bad flag.
    public func validate() throws {
        func require(_ ok: Bool, _ flag: String, _ message: String) throws {
            if !ok { throw InvalidOption(flag: flag, message: message) }
        }
        try require(epochs >= 1, "--epochs", "must be at least 1, got \(epochs)")
        try require(batchSize >= 2, "--batch-size", "must be at least 2 (BatchNorm needs more than one value per channel in training), got \(batchSize)")
        try require(testBatchSize >= 1, "--test-batch-size", "must be at least 1, got \(testBatchSize)")
        try require(maxLearningRate > 0 && maxLearningRate.isFinite, "--max-lr", "must be a positive number, got \(maxLearningRate)")
        try require(weightDecay >= 0 && weightDecay.isFinite, "--weight-decay", "must be zero or positive, got \(weightDecay)")
        try require(divFactor > 0 && divFactor.isFinite, "--div-factor", "must be positive, got \(divFactor)")
        try require(finalDivFactor > 0 && finalDivFactor.isFinite, "--final-div-factor", "must be positive, got \(finalDivFactor)")
        try require(pctStart > 0 && pctStart < 1, "--pct-start", "must lie strictly between 0 and 1, got \(pctStart)")
        try require(baseMomentum >= 0 && baseMomentum < 1, "--base-momentum", "must lie in [0, 1), got \(baseMomentum)")
        try require(maxMomentum >= 0 && maxMomentum < 1, "--max-momentum", "must lie in [0, 1), got \(maxMomentum)")
        try require(labelSmoothing >= 0 && labelSmoothing <= 1, "--label-smoothing", "must lie in [0, 1], got \(labelSmoothing)")
        try require(widthMultiplier > 0 && widthMultiplier <= 4, "--width-multiplier", "must lie in (0, 4], got \(widthMultiplier)")
        try require(numClasses >= 2, "--num-classes", "must be at least 2, got \(numClasses)")
        if let limitTrain { try require(limitTrain >= 2, "--limit-train", "must be at least 2, got \(limitTrain)") }
        if let limitTest { try require(limitTest >= 1, "--limit-test", "must be at least 1, got \(limitTest)") }
        for kind in noWeightDecayKinds {
            try require(Parameter.Kind(rawValue: kind) != nil, "--no-weight-decay-on", "unknown parameter kind '\(kind)'; use \(Parameter.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }
}
