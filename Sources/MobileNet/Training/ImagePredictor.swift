import Foundation

/// One class of a prediction: its index (label), name and softmax probability.
public struct ClassProbability: Equatable, Sendable {
    /// The class index (logit position).
    public var index: Int
    /// The class name (``CheckpointDataset/classNames``).
    public var name: String
    /// softmax(logits)[index], in [0, 1].
    public var probability: Double

    public init(index: Int, name: String, probability: Double) {
        self.index = index
        self.name = name
        self.probability = probability
    }
}

/// What became of one image file given to ``ImagePredictor/predict(_:topK:)``.
public enum ImagePrediction: Equatable, Sendable {
    /// The k most probable classes, most probable first.
    case predicted([ClassProbability])
    /// The file could not be decoded (the decoder's error names it and says why).
    case failed(ImageError)
}

/// Predicts the classes of image files with a trained model: each file decoded and brought
/// to S×S exactly as training did (``ImageFolderLoader``: torchvision's `Resize(S)` +
/// `CenterCrop(S)`), normalised with the run's mean and std, run through the BatchNorm-folded
/// inference network (``FoldedMobileNetV1``) in batches, and ranked by softmax probability.
///
/// Files are decoded in parallel on the engine's threads, a chunk of ``chunkSize`` at a time
/// (memory stays bounded whatever the number of files); a file that cannot be decoded is
/// reported as ``ImagePrediction/failed(_:)`` and the others are predicted.
public final class ImagePredictor {
    /// Class names, index = logit position.
    public let classNames: [String]
    /// The test transforms: S×S, the run's normalisation, no crop, no flip.
    public let augmentation: AugmentationOptions
    /// Images per forward pass.
    public let batchSize: Int
    /// Files decoded together before their batches run.
    public let chunkSize: Int
    /// Test-time augmentation: the classes are ranked by the mean softmax of the views.
    public let testTimeAugmentation: TestTimeAugmentation
    private let network: FoldedMobileNetV1
    private let loader: ImageFolderLoader

    /// - Parameters:
    ///   - model: the trained network (folded once, here).
    ///   - augmentation: the run's evaluation transforms (``CheckpointDataset/evaluationAugmentation``).
    ///   - maximumPixels: the decoder's limit (``ImageDecoder/defaultMaximumPixels``).
    /// - Precondition: one name per class; `augmentation` is deterministic (no crop, no flip, no cutout);
    ///   `batchSize`, `chunkSize` ≥ 1.
    ///   - testTimeAugmentation: as `evaluate --tta` (``TestTimeAugmentation``); the
    ///     probabilities reported are then the views' mean p̄.
    public init(model: MobileNetV1, classNames: [String], augmentation: AugmentationOptions, batchSize: Int = 100,
                chunkSize: Int = 1024, maximumPixels: Int = ImageDecoder.defaultMaximumPixels,
                testTimeAugmentation: TestTimeAugmentation = .none) {
        self.testTimeAugmentation = testTimeAugmentation
        precondition(classNames.count == model.numClasses, "\(classNames.count) class names for \(model.numClasses) classes")
        precondition(augmentation.isDeterministic, "prediction takes the evaluation transforms (no crop, no flip, no cutout)")
        precondition(batchSize >= 1 && chunkSize >= 1, "expected positive sizes, got batch \(batchSize), chunk \(chunkSize)")
        self.classNames = classNames
        self.augmentation = augmentation
        self.batchSize = batchSize
        self.chunkSize = chunkSize
        self.network = model.makeInferenceModel()
        self.loader = ImageFolderLoader(imageSide: augmentation.imageSide, maximumPixels: maximumPixels)
    }

    /// The `topK` most probable classes of each file, in the order of `paths`.
    /// - Precondition: `topK >= 1` (more than the classes gives them all).
    public func predict(_ paths: [String], topK: Int) -> [ImagePrediction] {
        precondition(topK >= 1, "topK must be ≥ 1, got \(topK)")
        var results: [ImagePrediction] = []
        results.reserveCapacity(paths.count)
        var start = 0
        while start < paths.count {
            let chunk = Array(paths[start ..< min(paths.count, start + chunkSize)])
            results += predictChunk(chunk, topK: topK)
            start += chunk.count
        }
        return results
    }

    private func predictChunk(_ paths: [String], topK: Int) -> [ImagePrediction] {
        let decoded = loader.decodeEach(paths)
        var outcomes = decoded.failures.map { $0.map(ImagePrediction.failed) }
        let readable = outcomes.indices.filter { outcomes[$0] == nil }
        guard !readable.isEmpty else { return outcomes.compactMap { $0 } }
        let bytes = loader.bytesPerImage
        var images = [UInt8]()
        images.reserveCapacity(readable.count * bytes)
        for i in readable { images += decoded.images[i * bytes ..< (i + 1) * bytes] }
        let set = ImageDataset(images: images, labels: [Int32](repeating: 0, count: readable.count), classNames: classNames,
                               imageSide: augmentation.imageSide)
        let batches = BatchLoader(dataset: set, configuration: .evaluation(batchSize: batchSize, augmentation: augmentation))
        batches.start(epoch: 0)
        defer { batches.stop() }
        var views = TestTimeViews(testTimeAugmentation, mean: augmentation.mean, std: augmentation.std)
        var average = SoftmaxAverage()
        var logMean: [Float] = []
        while let batch = batches.next() {
            let top: (Int) -> [ClassProbability]
            if testTimeAugmentation == .none {
                let logits = network.forward(batch.images)
                top = { n in Self.topClasses(logits.data + n, classes: self.classNames.count, stride: batch.size, k: topK, names: self.classNames) }
            } else {
                // Ranked by p̄ through its log, whose softmax is p̄ again (the same ranking rule).
                average.start(classes: classNames.count, batch: batch.size, passes: testTimeAugmentation.views.count)
                views.forEach(of: batch.images) { view in average.add(logits: network.forward(view), targets: batch.labels) }
                logMean = average.probabilities.map { Float(log(Double($0))) }
                top = { n in logMean.withUnsafeBufferPointer { Self.topClasses($0.baseAddress! + n, classes: self.classNames.count, stride: batch.size, k: topK, names: self.classNames) } }
            }
            for (n, index) in batch.indices.enumerated() {
                outcomes[readable[Int(index)]] = .predicted(top(n))
            }
        }
        return outcomes.map { $0! }
    }

    /// The `k` most probable classes of one image from its logits (class c at
    /// `logits[c · stride]`): softmax in Double with the largest logit subtracted, classes
    /// ordered by logit, largest first, ties to the lower index, NaN last, so the first is
    /// the top-1 class ``EvaluationTally`` and `evaluate` count (the same rule).
    public static func topClasses(_ logits: UnsafePointer<Float>, classes: Int, stride: Int, k: Int, names: [String]) -> [ClassProbability] {
        let values = (0..<classes).map { Double(logits[$0 * stride]) }
        let maximum = values.filter { !$0.isNaN }.max() ?? 0
        let exponentials = values.map { exp($0 - maximum) }
        let sum = exponentials.filter { !$0.isNaN }.reduce(0, +)
        let order = (0..<classes).sorted { a, b in
            let (x, y) = (values[a], values[b])
            if x.isNaN || y.isNaN { return !x.isNaN && y.isNaN || (x.isNaN && y.isNaN && a < b) }
            return x > y || (x == y && a < b)
        }
        return order.prefix(k).map { ClassProbability(index: $0, name: names[$0], probability: exponentials[$0] / sum) }
    }
}
