/// An exponential moving average of a model's weights and BatchNorm buffers: a second
/// ``MobileNetV1`` whose state_dict follows the trained one.
///
/// Semantics: `torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(d),
/// use_buffers=True)` with the decay warmed up as TensorFlow's
/// `tf.train.ExponentialMovingAverage(decay, num_updates)`:
/// - at construction the average is a copy of the model (AveragedModel deep-copies it);
/// - update n (0-based, `n_averaged` in PyTorch) with model weights m: n = 0 copies m into
///   the average (AveragedModel's `n_averaged == 0` branch); n ≥ 1 uses the decay
///   dₙ = min(D, (1 + n) / (10 + n)) (TF's num_updates rule, with num_updates = n) and sets
///   e ← lerp(e, m, 1 − dₙ), PyTorch's `torch._foreach_lerp_` (w = 1 − dₙ rounded to Float:
///   e + w·(m − e) when w < 0.5, else m − (m − e)·(1 − w));
/// - every parameter and every buffer takes part (use_buffers=True): BatchNorm's running
///   mean and variance are averaged like the weights, and `num_batches_tracked` (int64) as
///   PyTorch's integer branch computes it: ⌊e·dₙ + m·(1 − dₙ)⌋ in Float, truncated toward zero.
///
/// ``step(from:globalStep:)`` updates only when the optimizer step count is a multiple of
/// ``every``, so after g optimizer steps ⌊g / every⌋ updates were made: the position alone
/// says where the average stands, and a resumed run continues it bit for bit.
public final class ExponentialMovingAverage {
    /// D in (0, 1): the decay after the warm-up.
    public let decay: Double
    /// K ≥ 1: one update every K optimizer steps.
    public let every: Int
    /// The averaged model (same architecture as the trained one); evaluate and save it like any model.
    public let model: MobileNetV1
    /// Updates made so far (PyTorch's `n_averaged`).
    public private(set) var updates = 0

    /// A copy of `source` as the average before any update.
    /// - Precondition: 0 < `decay` < 1, `every` ≥ 1.
    public init(of source: MobileNetV1, decay: Double, every: Int = 1) {
        precondition(decay > 0 && decay < 1, "expected a decay in (0, 1), got \(decay)")
        precondition(every >= 1, "expected an update interval of at least 1 step, got \(every)")
        self.decay = decay
        self.every = every
        model = MobileNetV1(numClasses: source.numClasses, inputChannels: source.inputChannels,
                            widthMultiplier: source.widthMultiplier, seed: 0)
        Self.copy(from: source, into: model)
    }

    /// The decay of update `n` (0-based) for a decay `decay` after warm-up:
    /// min(decay, (1 + n) / (10 + n)) (TF ExponentialMovingAverage's num_updates rule).
    /// Update 0 copies the model whatever this says.
    public static func warmedUpDecay(_ decay: Double, update n: Int) -> Double {
        min(decay, Double(1 + n) / Double(10 + n))
    }

    /// The updates made after `globalStep` optimizer steps: ⌊globalStep / every⌋.
    public func updates(afterStep globalStep: Int) -> Int { globalStep / every }

    /// After an optimizer step: updates the average when `globalStep` (steps taken, this one
    /// included) is a multiple of ``every``.
    public func step(from source: MobileNetV1, globalStep: Int) {
        if globalStep % every == 0 { update(from: source) }
    }

    /// One update (see the type's description).
    public func update(from source: MobileNetV1) {
        defer { updates += 1 }
        guard updates > 0 else {
            Self.copy(from: source, into: model)
            return
        }
        let d = Self.warmedUpDecay(decay, update: updates)
        let weight = Float(1 - d)
        Self.forEachPair(model, source, float: { e, m in Self.lerp(e, toward: m, weight: weight) }, int64: { e, m in
            let value = Float(e.value) * Float(d) + Float(m.value) * Float(1 - d)
            e.value = Int64(value.rounded(.towardZero))
        })
    }

    /// Sets the update count of a restored average (its tensors are loaded separately).
    public func restore(updates: Int) {
        precondition(updates >= 0, "expected a non-negative update count, got \(updates)")
        self.updates = updates
    }

    /// e ← lerp(e, m, w), elementwise, as PyTorch's CPU lerp kernel computes it.
    static func lerp(_ e: Tensor, toward m: Tensor, weight w: Float) {
        precondition(e.count == m.count, "expected tensors of equal size, got \(e.count) and \(m.count)")
        let ep = e.data, mp = m.data
        if w < 0.5 {
            for i in 0..<e.count { ep[i] = ep[i] + w * (mp[i] - ep[i]) }
        } else {
            let v = 1 - w
            for i in 0..<e.count { ep[i] = mp[i] - (mp[i] - ep[i]) * v }
        }
    }

    /// Runs `body` on `trained` holding the average's weights and buffers, then puts both
    /// back: the two models' tensors are swapped element by element before and after, so
    /// `trained` ends bit for bit as it was and the average keeps what `body` left in it (a
    /// recalibration's statistics). The average is evaluated with the trained model's
    /// activation buffers instead of allocating its own: a forward of its own would hold a
    /// second set of per-layer outputs, about 300 MB at batch 100 and 32×32 (α = 1).
    /// - Precondition: `trained` has the average's architecture.
    @discardableResult
    public func withAverage<Result>(in trained: MobileNetV1, _ body: (MobileNetV1) throws -> Result) rethrows -> Result {
        Self.swap(model, trained)
        defer { Self.swap(model, trained) }
        return try body(trained)
    }

    /// Exchanges every parameter and buffer of `a` and `b` (same architecture), in place.
    static func swap(_ a: MobileNetV1, _ b: MobileNetV1) {
        func exchange(_ x: Tensor, _ y: Tensor) {
            precondition(x.count == y.count, "expected tensors of equal size, got \(x.count) and \(y.count)")
            let xp = x.data, yp = y.data
            for i in 0..<x.count { (xp[i], yp[i]) = (yp[i], xp[i]) }
        }
        forEachPair(a, b, float: exchange, int64: { x, y in (x.value, y.value) = (y.value, x.value) })
    }

    /// Copies every parameter and buffer of `source` into `target` (same architecture).
    static func copy(from source: MobileNetV1, into target: MobileNetV1) {
        forEachPair(target, source, float: { t, s in t.copy(from: s) }, int64: { t, s in t.value = s.value })
    }

    /// Every parameter and every buffer of `a` beside its twin in `b` (same architecture, in
    /// state_dict order): Float tensors to `float`, num_batches_tracked counters to `int64`.
    static func forEachPair(_ a: MobileNetV1, _ b: MobileNetV1, float: (Tensor, Tensor) -> Void,
                            int64: (Int64Scalar, Int64Scalar) -> Void) {
        for ((_, x), (_, y)) in zip(a.namedParameters, b.namedParameters) { float(x.value, y.value) }
        for ((_, x), (_, y)) in zip(a.namedBuffers, b.namedBuffers) {
            switch (x, y) {
            case (.float(let x), .float(let y)): float(x, y)
            case (.int64(let x), .int64(let y)): int64(x, y)
            default: preconditionFailure("buffers of the average and the model differ in kind")
            }
        }
    }
}
