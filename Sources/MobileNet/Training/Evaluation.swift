/// Counts of (true class, predicted class) pairs: row = true class, column = prediction.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classCount: Int
    /// Row-major: `counts[target · classCount + predicted]`.
    public private(set) var counts: [Int]

    public init(classCount: Int) {
        precondition(classCount >= 1, "expected at least one class, got \(classCount)")
        self.classCount = classCount
        counts = Array(repeating: 0, count: classCount * classCount)
    }

    public subscript(target: Int, predicted: Int) -> Int { counts[target * classCount + predicted] }

    /// - Precondition: both in 0..<classCount.
    public mutating func add(target: Int, predicted: Int) {
        precondition((0..<classCount).contains(target) && (0..<classCount).contains(predicted),
                     "class out of range: target \(target), predicted \(predicted), \(classCount) classes")
        counts[target * classCount + predicted] += 1
    }

    /// Samples of true class `target` (the row's sum).
    public func samples(ofClass target: Int) -> Int { counts[(target * classCount)..<((target + 1) * classCount)].reduce(0, +) }
    public var total: Int { counts.reduce(0, +) }
    /// The diagonal's sum.
    public var correct: Int { (0..<classCount).reduce(0) { $0 + self[$1, $1] } }
    /// Per true class: correct / samples (the class's recall), nil for a class without samples.
    public var perClassAccuracy: [Double?] {
        (0..<classCount).map { k in
            let n = samples(ofClass: k)
            return n > 0 ? Double(self[k, k]) / Double(n) : nil
        }
    }
}

/// Test-set metrics accumulated batch by batch: mean cross-entropy, top-1 and top-5
/// accuracy, and the confusion matrix of top-1 predictions.
///
/// The prediction is the first index of the largest logit (torch.argmax), NaN logits
/// excepted (they never win; all NaN predicts class 0). A sample is top-k correct when
/// fewer than k classes have a logit strictly greater than its true class's, which must
/// not be NaN.
public struct EvaluationTally: Sendable {
    /// k of the top-k accuracy.
    public static let topK = 5

    public let classCount: Int
    public private(set) var count = 0
    /// Sum over samples of the cross-entropy.
    public private(set) var lossSum = 0.0
    public private(set) var top1Correct = 0
    public private(set) var topKCorrect = 0
    public private(set) var confusion: ConfusionMatrix

    public init(classCount: Int) {
        self.classCount = classCount
        confusion = ConfusionMatrix(classCount: classCount)
    }

    /// Mean cross-entropy per sample (NaN before any sample).
    public var loss: Double { count > 0 ? lossSum / Double(count) : .nan }
    public var top1Accuracy: Double { count > 0 ? Double(top1Correct) / Double(count) : 0 }
    public var topKAccuracy: Double { count > 0 ? Double(topKCorrect) / Double(count) : 0 }

    /// Adds one batch.
    /// - Parameters:
    ///   - logits: [classCount, N] as the model returns them (engine layout: class k of sample n at k·N + n).
    ///   - targets: N class indices.
    ///   - meanLoss: the batch's mean cross-entropy.
    /// - Precondition: `logits.count == classCount · N`, every target in 0..<classCount.
    public mutating func add(logits: UnsafeBufferPointer<Float>, targets: UnsafeBufferPointer<Int32>, meanLoss: Double) {
        let n = targets.count
        precondition(logits.count == classCount * n, "expected \(classCount) × \(n) logits, got \(logits.count)")
        for sample in 0..<n {
            let target = Int(targets[sample])
            let targetLogit = logits[target * n + sample]
            var predicted = 0, best = -Float.infinity, above = 0
            for k in 0..<classCount {
                let value = logits[k * n + sample]
                if value > best { (predicted, best) = (k, value) }
                if value > targetLogit { above += 1 }
            }
            confusion.add(target: target, predicted: predicted)
            if predicted == target { top1Correct += 1 }
            if above < Self.topK && !targetLogit.isNaN { topKCorrect += 1 }
        }
        lossSum += meanLoss * Double(n)
        count += n
    }

    /// Evaluates `model` (eval mode: running statistics) on every batch of `loader`.
    /// - Parameter onBatch: sees each batch's logits [classes, 1, 1, N] (valid only during the call).
    public static func evaluate(model: MobileNetV1, loader: BatchLoader,
                                onBatch: (FeatureMap, BatchLoader.Batch) -> Void = { _, _ in }) -> EvaluationTally {
        var tally = EvaluationTally(classCount: model.numClasses)
        let criterion = CrossEntropyLoss()
        loader.start(epoch: 0)
        defer { loader.stop() }
        while let batch = loader.next() {
            guard batch.size > 0 else { continue }   // a rank's empty shard of a batch smaller than the rank count
            let logits = model.forward(batch.images, training: false)
            let loss = Double(criterion.forward(logits, targets: batch.labels))
            tally.add(logits: UnsafeBufferPointer(logits.buffer), targets: batch.labels, meanLoss: loss)
            onBatch(logits, batch)
        }
        return tally
    }
}
