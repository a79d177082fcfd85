import Foundation

/// Softmax cross-entropy on logits, mean over the batch, as
/// torch.nn.CrossEntropyLoss(reduction: "mean", label_smoothing: ε) — the softmax is
/// fused in (the model returns logits).
///
/// - Logits [K, 1, 1, N] (engine layout: column n is image n's K class scores); targets
///   are N class indices in 0..<K.
/// - Loss = (1/N)·Σₙ −Σₖ tₖ·log softmax(lₙ)ₖ with the smoothed target
///   t = (1 − ε)·onehot(yₙ) + ε/K (PyTorch's definition).
/// - Stable for any finite logits (±1000 included): the column maximum is subtracted and
///   exp/log/sums run in Double.
/// - ``backward()`` returns ∂loss/∂logits = (softmax − t)/N, shape [K, 1, 1, N].
/// - Buffers are reused: no allocation after the first call at a given batch size.
public final class CrossEntropyLoss {
    /// ε in [0, 1].
    public let labelSmoothing: Float
    /// Images of the last forward whose highest logit (first one on ties) is the target.
    public private(set) var correct = 0

    private var probabilities: FeatureMap?
    private var gradLogits: FeatureMap?
    private var savedTargets: [Int32] = []

    public init(labelSmoothing: Float = 0) {
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "CrossEntropyLoss: expected labelSmoothing in [0, 1], got \(labelSmoothing)")
        self.labelSmoothing = labelSmoothing
    }

    /// The mean loss over the batch; also sets ``correct`` and keeps the softmax for backward.
    /// - Precondition: logits are [K, 1, 1, N] with N == targets.count; every target in 0..<K.
    public func forward(_ logits: FeatureMap, targets: UnsafeBufferPointer<Int32>) -> Float {
        let s = logits.shape
        let classes = s.channels, n = s.batch
        precondition(s.spatial == 1, "CrossEntropyLoss: expected logits [K, 1, 1, N], got \(s)")
        precondition(targets.count == n, "CrossEntropyLoss: expected \(n) targets, got \(targets.count)")
        let probs = FeatureMap.reuse(probabilities, for: s)
        probabilities = probs
        if savedTargets.count < n { savedTargets = [Int32](repeating: 0, count: n) }
        let l = logits.data, p = probs.data
        let epsilon = Double(labelSmoothing)
        var total = 0.0
        var hits = 0
        for image in 0..<n {
            let target = Int(targets[image])
            precondition(target >= 0 && target < classes, "CrossEntropyLoss: target \(target) is out of bounds for \(classes) classes")
            savedTargets[image] = targets[image]
            let best = topClass(l + image, classes: classes, stride: n)
            if best == target { hits += 1 }
            // The shift of the softmax; a NaN logit makes the loss NaN whatever it is.
            let maximum = Double(l[best * n + image])
            var sumExp = 0.0, sumShifted = 0.0
            for k in 0..<classes {
                let shifted = Double(l[k * n + image]) - maximum
                sumExp += exp(shifted)
                sumShifted += shifted
            }
            let logSumExp = log(sumExp)
            for k in 0..<classes { p[k * n + image] = Float(exp(Double(l[k * n + image]) - maximum) / sumExp) }
            // −log p_y = lse − (l_y − max); −Σₖ log pₖ / K = lse − Σₖ(lₖ − max)/K.
            let nll = logSumExp - (Double(l[target * n + image]) - maximum)
            let smooth = logSumExp - sumShifted / Double(classes)
            total += (1 - epsilon) * nll + epsilon * smooth
        }
        correct = hits
        return Float(total / Double(n))
    }

    /// `forward` with targets as Swift integers (converts them; for tests and tools).
    public func forward(_ logits: FeatureMap, targets: [Int]) -> Float {
        let converted = targets.map { Int32(clamping: $0) }
        return converted.withUnsafeBufferPointer { forward(logits, targets: $0) }
    }

    /// ∂(mean loss)/∂logits = (softmax − t)/N, [K, 1, 1, N], owned by the loss.
    /// - Precondition: after a forward.
    public func backward() -> FeatureMap {
        guard let probs = probabilities else { preconditionFailure("CrossEntropyLoss.backward called without a forward") }
        let s = probs.shape
        let classes = s.channels, n = s.batch
        let grad = FeatureMap.reuse(gradLogits, for: s)
        gradLogits = grad
        let offTarget = labelSmoothing / Float(classes)
        let onTarget = 1 - labelSmoothing + offTarget
        let scale = 1 / Float(n)
        for k in 0..<classes {
            for image in 0..<n {
                let t = Int(savedTargets[image]) == k ? onTarget : offTarget
                grad.data[k * n + image] = (probs.data[k * n + image] - t) * scale
            }
        }
        return grad
    }
}
