/// Batch normalisation over each channel, as torch.nn.BatchNorm2d(numFeatures, eps,
/// momentum, affine: true, track_running_stats: true) (Ioffe & Szegedy 2015, Alg. 1–2),
/// optionally followed by torch.nn.ReLU6 in the same memory pass (`fusedReLU6`).
///
/// - Input [C, H, W, N] (engine layout) → output of the same shape; C == `numFeatures`.
/// - Training: y = γ·(x − μ)/√(σ² + eps) + β with the batch mean μ and the biased batch
///   variance σ² over the M = H·W·N values of a channel; then
///   running_mean = (1 − momentum)·running_mean + momentum·μ,
///   running_var = (1 − momentum)·running_var + momentum·σ²·M/(M − 1) (unbiased),
///   num_batches_tracked += 1. Eval: the running statistics replace μ and σ².
/// - Fused: y = min(max(·, 0), 6); its gradient passes only where 0 < pre-clamp value < 6.
/// - State: parameters "weight" (γ, init 1) and "bias" (β, init 0); buffers
///   "running_mean" (0), "running_var" (1), "num_batches_tracked" (int64, 0).
/// - Statistics: a two-pass mean and variance per block of 1,024 values (Float SIMD, the
///   block in L1), blocks merged in Double; the order is fixed by the shape alone, so
///   results are bitwise independent of the thread count. Work is parallel over channels.
/// - Backward keeps the input map (owned by the previous layer) and recomputes x̂ from it.
/// - Precondition: channels == numFeatures; in training more than one value per channel
///   (PyTorch raises "Expected more than 1 value per channel when training").
public final class BatchNorm2d: Layer {
    public let numFeatures: Int
    public let eps: Float
    /// PyTorch's sense: weight of the new batch statistic in the running average.
    public let momentum: Float
    /// Whether a ReLU6 follows in the same pass.
    public let fusedReLU6: Bool

    /// γ, [C].
    public let weight: Parameter
    /// β, [C].
    public let bias: Parameter
    /// [C], init 0.
    public let runningMean: Tensor
    /// [C], init 1; updated with the unbiased batch variance.
    public let runningVar: Tensor
    /// Training forwards seen (PyTorch int64 buffer of shape []).
    public let numBatchesTracked: Int64Scalar

    /// μ (as a Float plus the Float of its rounding error) and 1/√(σ² + eps) of the last
    /// training forward, [C], for backward.
    private let batchMean: Tensor
    private let batchMeanLow: Tensor
    private let batchInvStd: Tensor
    private var savedInput: FeatureMap?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    public init(numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1, fusedReLU6: Bool = false) {
        precondition(numFeatures > 0, "BatchNorm2d: expected numFeatures > 0, got \(numFeatures)")
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        self.fusedReLU6 = fusedReLU6
        weight = Parameter(name: "weight", kind: .batchNormWeight, shape: [numFeatures])
        bias = Parameter(name: "bias", kind: .batchNormBias, shape: [numFeatures])
        runningMean = Tensor(shape: [numFeatures])
        runningVar = Tensor(shape: [numFeatures])
        numBatchesTracked = Int64Scalar(0)
        batchMean = Tensor(shape: [numFeatures])
        batchMeanLow = Tensor(shape: [numFeatures])
        batchInvStd = Tensor(shape: [numFeatures])
        weight.value.data.update(repeating: 1, count: numFeatures)
        runningVar.data.update(repeating: 1, count: numFeatures)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public var buffers: [(name: String, value: BufferValue)] {
        [("running_mean", .float(runningMean)), ("running_var", .float(runningVar)),
         ("num_batches_tracked", .int64(numBatchesTracked))]
    }

    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        let shape = input.shape
        precondition(shape.channels == numFeatures, "BatchNorm2d: expected \(numFeatures) channels, got \(shape)")
        let out = FeatureMap.reuse(output, for: shape)
        output = out
        let m = shape.channelStride
        let x = SendablePointer(input.data), y = SendablePointer(out.data)
        let gamma = SendablePointer(weight.value.data), beta = SendablePointer(bias.value.data)
        let mean = SendablePointer(batchMean.data), meanLow = SendablePointer(batchMeanLow.data)
        let invStd = SendablePointer(batchInvStd.data)
        let fused = fusedReLU6
        if training {
            precondition(m > 1, "BatchNorm2d: Expected more than 1 value per channel when training, got input size \(shape.nchw)")
            let runMean = SendablePointer(runningMean.data), runVar = SendablePointer(runningVar.data)
            let eps = Double(eps), momentum = momentum
            Parallel.forEach(numFeatures) { c in
                let xc = x.base + c * m
                let (mu, variance) = Self.meanAndBiasedVariance(xc, count: m)
                let muFloat = Float(mu), muLow = Float(mu - Double(muFloat))
                let invStdC = Float(1 / (variance + eps).squareRoot())
                mean[c] = muFloat
                meanLow[c] = muLow
                invStd[c] = invStdC
                runMean[c] = (1 - momentum) * runMean[c] + momentum * muFloat
                runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(variance * Double(m) / Double(m - 1))
                Self.normalize(xc, into: y.base + c * m, count: m, mean: muFloat, meanLow: muLow, invStd: invStdC,
                               gamma: gamma[c], beta: beta[c], fused: fused)
            }
            numBatchesTracked.value += 1
            savedInput = input
        } else {
            let runMean = SendablePointer(runningMean.data), runVar = SendablePointer(runningVar.data)
            let eps = eps
            Parallel.forEach(numFeatures) { c in
                Self.normalize(x.base + c * m, into: y.base + c * m, count: m, mean: runMean[c], meanLow: 0,
                               invStd: 1 / (runVar[c] + eps).squareRoot(), gamma: gamma[c], beta: beta[c], fused: fused)
            }
            savedInput = nil
        }
        return out
    }

    /// With dy' = dy (masked by ReLU6's derivative when fused), per channel:
    /// dx = γ·invstd/M · (M·dy' − Σdy' − x̂·Σ(dy'·x̂)); dγ += Σ dy'·x̂; dβ += Σ dy'.
    /// - Precondition: after a training forward, `gradOutput` shaped as its input.
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        guard let input = savedInput else { preconditionFailure("BatchNorm2d.backward called without a training forward") }
        let shape = input.shape
        precondition(gradOutput.shape == shape, "BatchNorm2d.backward: expected gradOutput \(shape), got \(gradOutput.shape)")
        let dxMap = FeatureMap.reuse(gradInput, for: shape)
        gradInput = dxMap
        let m = shape.channelStride
        let x = SendablePointer(input.data), dy = SendablePointer(gradOutput.data), dx = SendablePointer(dxMap.data)
        let gamma = SendablePointer(weight.value.data), beta = SendablePointer(bias.value.data)
        let gradGamma = SendablePointer(weight.grad.data), gradBeta = SendablePointer(bias.grad.data)
        let mean = SendablePointer(batchMean.data), meanLow = SendablePointer(batchMeanLow.data)
        let invStd = SendablePointer(batchInvStd.data)
        let fused = fusedReLU6
        Parallel.forEach(numFeatures) { c in
            let xc = x.base + c * m, dyc = dy.base + c * m, dxc = dx.base + c * m
            let mu = mean[c], muLow = meanLow[c], inv = invStd[c], g = gamma[c], b = beta[c]
            // x̂ and the pre-activation use exactly the forward's arithmetic, so the mask matches y.
            let (sumDy, sumDyXHat) = FloatLanes.sums(m) { i, lanes in
                let xHat = (FloatLanes.load(xc + i, lanes, pad: mu) - mu - muLow) * inv
                var d = FloatLanes.load(dyc + i, lanes)
                if fused { d = FloatLanes.keep(d, where: ReLU6.passesGradient(xHat * g + b)) }
                return (d, d * xHat)
            }
            gradGamma[c] += Float(sumDyXHat)
            gradBeta[c] += Float(sumDy)
            let k = g * inv
            let meanDy = Float(sumDy / Double(m)), meanDyXHat = Float(sumDyXHat / Double(m))
            if fused {
                for i in 0..<m {
                    let xHat = (xc[i] - mu - muLow) * inv
                    let d = dyc[i]
                    dxc[i] = k * ((ReLU6.passesGradient(xHat * g + b) ? d : 0) - meanDy - xHat * meanDyXHat)
                }
            } else {
                for i in 0..<m { dxc[i] = k * (dyc[i] - meanDy - (xc[i] - mu - muLow) * inv * meanDyXHat) }
            }
        }
        return dxMap
    }

    /// Mean and biased variance of `count` floats, in one sweep over memory: each block of
    /// ``FloatLanes/blockLength`` values (in L1 by then) gets the corrected two-pass
    /// algorithm — μ₀ = Σx/B, then with d = x − μ₀: μ = μ₀ + Σd/B, M₂ = Σd² − (Σd)²/B —
    /// and blocks merge in Double by Chan, Golub & LeVeque's (1979) pairwise update.
    @inline(__always)
    static func meanAndBiasedVariance(_ x: UnsafeMutablePointer<Float>, count m: Int) -> (mean: Double, variance: Double) {
        var seen = 0.0, mean = 0.0, m2 = 0.0
        var start = 0
        while start < m {
            let block = x + start, length = min(FloatLanes.blockLength, m - start), b = Double(length)
            let (sum, _) = FloatLanes.sums(length) { i, lanes in (FloatLanes.load(block + i, lanes), FloatLanes.Vector()) }
            let mean0 = Float(sum / b)
            let (sumD, sumD2) = FloatLanes.sums(length) { i, lanes in
                let d = FloatLanes.load(block + i, lanes, pad: mean0) - mean0
                return (d, d * d)
            }
            let blockMean = Double(mean0) + sumD / b, blockM2 = sumD2 - sumD * sumD / b
            let total = seen + b, delta = blockMean - mean
            mean += delta * b / total
            m2 += blockM2 + delta * delta * seen * b / total
            seen = total
            start += length
        }
        return (mean, max(0, m2 / seen))
    }

    /// y = γ·(x − μ)·invStd + β, clamped to [0, 6] when fused; μ = mean + meanLow, and
    /// x − mean is exact for x near the mean, so an offset far above σ costs no accuracy.
    @inline(__always)
    static func normalize(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, count m: Int,
                          mean: Float, meanLow: Float, invStd: Float, gamma: Float, beta: Float, fused: Bool) {
        if fused {
            for i in 0..<m { y[i] = ReLU6.clamp((x[i] - mean - meanLow) * invStd * gamma + beta) }
        } else {
            for i in 0..<m { y[i] = (x[i] - mean - meanLow) * invStd * gamma + beta }
        }
    }
}
