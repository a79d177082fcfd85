import Foundation

/// Test-time augmentation of an evaluation pass (`evaluate --tta`, `train --tta`).
public enum TestTimeAugmentation: String, CaseIterable, Codable, Sendable {
    /// Each image as it is: the plain evaluation.
    case none
    /// Each image as it is and mirrored left–right (the training set's flip). What is
    /// averaged are the two softmax probability vectors of the model's eval-mode logits f,
    /// not the logits: p̄ = ½·(softmax(f(x)) + softmax(f(mirror(x)))). Top-1, top-5 and
    /// the confusion matrix rank the classes by p̄; the loss is the cross-entropy of p̄,
    /// −log p̄[target], averaged over the images.
    case flip
    /// Six views averaged alike, with equal weights 1/6: the image and its mirror, each
    /// as is, shifted one pixel down and right (+1/+1: output pixel (y, x) shows input pixel
    /// (y − 1, x − 1)) and one pixel up and left (−1/−1: (y + 1, x + 1)); the row and column
    /// uncovered by a shift are zero padding of the image — the value a black pixel (byte 0)
    /// normalises to, (0 − mean)/std per channel, as the training crop pads. Mirroring comes
    /// before shifting. p̄ = (1/6)·Σ softmax(f(view)); ranked and scored as ``flip``.
    case flipShift = "flip-shift"

    /// The views averaged, as (mirror, diagonal shift in pixels), the image as given last.
    var views: [(mirror: Bool, shift: Int)] {
        switch self {
        case .none: [(false, 0)]
        case .flip: [(true, 0), (false, 0)]
        case .flipShift: [(false, 1), (false, -1), (true, 0), (true, 1), (true, -1), (false, 0)]
        }
    }
}

extension FeatureMap {
    /// Writes this map shifted diagonally by `shift` pixels into `output`: output (c, y, x, n)
    /// = input (c, y − shift, x − shift, n), and `fill[c]` where that lies outside the image.
    /// - Precondition: `output` is another map; `fill` has one value per channel.
    func shiftDiagonally(by shift: Int, fill: [Float], into output: FeatureMap) {
        precondition(output !== self, "shiftDiagonally: expected a separate output map, got the input itself")
        precondition(fill.count == shape.channels, "expected \(shape.channels) fill values, got \(fill.count)")
        output.reshape(shape)
        let (h, w, n) = (shape.height, shape.width, shape.batch)
        for c in 0..<shape.channels {
            for y in 0..<h {
                let sy = y - shift
                for x in 0..<w {
                    let sx = x - shift
                    let target = output.data + ((c * h + y) * w + x) * n
                    if sy >= 0 && sy < h && sx >= 0 && sx < w {
                        target.update(from: data + ((c * h + sy) * w + sx) * n, count: n)
                    } else {
                        target.update(repeating: fill[c], count: n)
                    }
                }
            }
        }
    }
}

/// The mean of the softmax probabilities of several forward passes over one batch, and
/// the cross-entropy of that mean (test-time augmentation).
///
/// Softmax in Double with the column maximum subtracted, as ``CrossEntropyLoss``; p̄ is
/// stored as Float. The loss keeps log p̄[target] in log space (log-sum-exp of the passes'
/// log-probabilities), so it stays finite when p̄[target] is below Float's range.
/// Buffers are kept from batch to batch: no allocation after the largest batch.
struct SoftmaxAverage {
    /// p̄, [K, N]: class k of sample n at k·N + n (complete after `passes` calls of ``add(logits:targets:)``).
    private(set) var probabilities: [Float] = []
    /// Per sample: log Σ over the passes so far of p[target] / passes.
    private var logTargetProbability: [Double] = []
    private var classes = 0, batch = 0, passes = 1

    /// Starts a batch of `batch` samples of `classes` classes, to be averaged over `passes` passes.
    mutating func start(classes: Int, batch: Int, passes: Int) {
        precondition(classes >= 1 && batch >= 1 && passes >= 1, "expected positive sizes, got \(classes) classes, batch \(batch), \(passes) passes")
        (self.classes, self.batch, self.passes) = (classes, batch, passes)
        probabilities.removeAll(keepingCapacity: true)
        probabilities.append(contentsOf: repeatElement(0, count: classes * batch))
        logTargetProbability.removeAll(keepingCapacity: true)
        logTargetProbability.append(contentsOf: repeatElement(-.infinity, count: batch))
    }

    /// Adds one pass's softmax, weighted 1/passes.
    /// - Precondition: logits [K, 1, 1, N] for the started K and N; every target in 0..<K.
    mutating func add(logits: FeatureMap, targets: UnsafeBufferPointer<Int32>) {
        let s = logits.shape
        precondition(s.channels == classes && s.spatial == 1 && s.batch == batch && targets.count == batch,
                     "expected logits [\(classes), 1, 1, \(batch)] and \(batch) targets, got \(s) and \(targets.count)")
        let l = logits.data, n = batch, weight = 1 / Double(passes)
        for sample in 0..<n {
            let target = Int(targets[sample])
            precondition((0..<classes).contains(target), "target \(target) is out of bounds for \(classes) classes")
            var maximum = -Double.infinity
            for k in 0..<classes { maximum = max(maximum, Double(l[k * n + sample])) }
            var sumExp = 0.0
            for k in 0..<classes { sumExp += exp(Double(l[k * n + sample]) - maximum) }
            for k in 0..<classes {
                probabilities[k * n + sample] += Float(weight * exp(Double(l[k * n + sample]) - maximum) / sumExp)
            }
            let logTarget = Double(l[target * n + sample]) - maximum - log(sumExp) + log(weight)
            logTargetProbability[sample] = Self.logAddExp(logTargetProbability[sample], logTarget)
        }
    }

    /// (1/N)·Σₙ −log p̄ₙ[targetₙ].
    var meanLoss: Double { -logTargetProbability.reduce(0, +) / Double(batch) }

    /// log(eᵃ + eᵇ), exact for −∞ operands.
    static func logAddExp(_ a: Double, _ b: Double) -> Double {
        let high = max(a, b), low = min(a, b)
        return high == -.infinity ? high : high + log1p(exp(low - high))
    }
}

/// Builds the views of a batch for ``TestTimeAugmentation``, in buffers kept from batch to batch.
struct TestTimeViews {
    let augmentation: TestTimeAugmentation
    /// The value a black pixel (byte 0) normalises to, per channel: the shifts' padding.
    let fill: [Float]
    private var mirrored: FeatureMap?, shifted: FeatureMap?

    /// Views for images normalised with `mean` and `std`.
    init(_ augmentation: TestTimeAugmentation, mean: [Float], std: [Float]) {
        self.augmentation = augmentation
        fill = zip(mean, std).map { (0 - $0) / $1 }
    }

    /// Calls `body` with each view of `images` (``TestTimeAugmentation/views``' order, the
    /// images as given last); a view is valid only during its call.
    mutating func forEach(of images: FeatureMap, _ body: (FeatureMap) -> Void) {
        let views = augmentation.views
        if views.count > 1 {
            let mirror = FeatureMap.reuse(mirrored, for: images.shape)
            mirrored = mirror
            images.mirrorLeftRight(into: mirror)
            let shift = FeatureMap.reuse(shifted, for: images.shape)
            shifted = shift
            for view in views.dropLast() {
                let source = view.mirror ? mirror : images
                if view.shift != 0 { source.shiftDiagonally(by: view.shift, fill: fill, into: shift) }
                body(view.shift != 0 ? shift : source)
            }
        }
        body(images)
    }
}
