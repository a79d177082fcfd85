/// Counts of (true class, predicted class) pairs: row = true class, column = prediction.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classCount: Int
    /// Row-major: `counts[target · classCount + predicted]`.
    public private(set) var counts: [Int]

    /// A matrix with the given row-major counts.
    init(classCount: Int, counts: [Int]) {
        precondition(counts.count == classCount * classCount, "expected \(classCount * classCount) counts, got \(counts.count)")
        self.classCount = classCount
        self.counts = counts
    }

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
/// Classes are ranked by a score per class: the logits, or the averaged probabilities p̄
/// of test-time augmentation (``TestTimeAugmentation``). The prediction is the first index
/// of the largest score (torch.argmax), NaN scores excepted (they never win; all NaN
/// predicts class 0). A sample is top-k correct when fewer than k classes have a score
/// strictly greater than its true class's, which must not be NaN.
public struct EvaluationTally: Equatable, Sendable {
    /// k of the top-k accuracy.
    public static let topK = 5

    public let classCount: Int
    public private(set) var count = 0
    /// Sum over samples of the cross-entropy.
    public private(set) var lossSum = 0.0
    public private(set) var top1Correct = 0
    public private(set) var topKCorrect = 0
    public private(set) var confusion: ConfusionMatrix

    /// Sums the tallies of every rank (one allreduce of the counts, loss sum and confusion
    /// matrix in Double): each rank evaluated its shards, every rank then holds the whole set's.
    public mutating func sum(over communicator: any Communicator) {
        var values = [Double(count), lossSum, Double(top1Correct), Double(topKCorrect)] + confusion.counts.map(Double.init)
        values.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
        count = Int(values[0])
        lossSum = values[1]
        top1Correct = Int(values[2])
        topKCorrect = Int(values[3])
        confusion = ConfusionMatrix(classCount: classCount, counts: values[4...].map { Int($0) })
    }

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
    ///   - scores: [classCount, N], logits as the model returns them or averaged
    ///     probabilities (engine layout: class k of sample n at k·N + n).
    ///   - targets: N class indices.
    ///   - meanLoss: the batch's mean cross-entropy.
    /// - Precondition: `scores.count == classCount · N`, every target in 0..<classCount.
    public mutating func add(scores: UnsafeBufferPointer<Float>, targets: UnsafeBufferPointer<Int32>, meanLoss: Double) {
        let n = targets.count
        precondition(scores.count == classCount * n, "expected \(classCount) × \(n) scores, got \(scores.count)")
        for sample in 0..<n {
            let target = Int(targets[sample])
            let targetScore = scores[target * n + sample]
            let predicted = topClass(scores.baseAddress! + sample, classes: classCount, stride: n)
            var above = 0
            for k in 0..<classCount where scores[k * n + sample] > targetScore { above += 1 }
            confusion.add(target: target, predicted: predicted)
            if predicted == target { top1Correct += 1 }
            if above < Self.topK && !targetScore.isNaN { topKCorrect += 1 }
        }
        lossSum += meanLoss * Double(n)
        count += n
    }

    /// Evaluates `model` (eval mode: running statistics) on every batch of `loader`.
    /// - Parameters:
    ///   - testTimeAugmentation: `.flip` ranks and scores each image by the mean softmax of
    ///     it and its mirror (see ``TestTimeAugmentation/flip``), one more forward per batch;
    ///   `.flipShift` by the mean over six views (``TestTimeAugmentation/flipShift``, padding
    ///     with the loader's normalised black), five more.
    ///   - onBatch: sees each batch's logits [classes, 1, 1, N] of the images as given (not
    ///     mirrored, also with `.flip`), valid only during the call.
    public static func evaluate(model: MobileNetV1, loader: BatchLoader, testTimeAugmentation: TestTimeAugmentation = .none,
                                onBatch: (FeatureMap, BatchLoader.Batch) -> Void = { _, _ in }) -> EvaluationTally {
        var tally = EvaluationTally(classCount: model.numClasses)
        let criterion = CrossEntropyLoss()
        var average = SoftmaxAverage()
        let augmentation = loader.configuration.augmentation
        var views = TestTimeViews(testTimeAugmentation, mean: augmentation.mean, std: augmentation.std)
        loader.start(epoch: 0)
        defer { loader.stop() }
        while let batch = loader.next() {
            guard batch.size > 0 else { continue }   // a rank's empty shard of a batch smaller than the rank count
            switch testTimeAugmentation {
            case .none:
                let logits = model.forward(batch.images, training: false)
                let loss = Double(criterion.forward(logits, targets: batch.labels))
                tally.add(scores: UnsafeBufferPointer(logits.buffer), targets: batch.labels, meanLoss: loss)
                onBatch(logits, batch)
            case .flip, .flipShift:
                average.start(classes: model.numClasses, batch: batch.size, passes: testTimeAugmentation.views.count)
                // The images as given come last, so their logits are still there for onBatch.
                var logits: FeatureMap?
                views.forEach(of: batch.images) { view in
                    logits = model.forward(view, training: false)
                    average.add(logits: logits!, targets: batch.labels)
                }
                let logitsAsGiven = logits!
                let loss = average.meanLoss
                average.probabilities.withUnsafeBufferPointer { tally.add(scores: $0, targets: batch.labels, meanLoss: loss) }
                onBatch(logitsAsGiven, batch)
            }
        }
        return tally
    }
}
