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
    /// PyTorch's `momentum=None`: the running statistics become the cumulative average of
    /// the batch statistics, the weight of a batch being 1/num_batches_tracked (after its
    /// increment); used to recompute them over a fixed set of images (``momentum`` is then
    /// ignored). False by default.
    public var cumulativeAverage = false
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
    /// The training forward's input (owned by the previous layer), read by backward; nil
    /// after a fused forward that read it from per-thread slots (its backward is given it again).
    private var savedInput: FeatureMap?
    /// The input shape of the last training forward.
    private var trainedInputShape: FeatureShape?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?
    /// Per-channel sums SyncBatchNorm exchanges across ranks, [2C + 1] Doubles (SyncBatchNorm.swift).
    let syncSums: UnsafeMutableBufferPointer<Double>

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
        syncSums = .allocate(capacity: 2 * numFeatures + 1)
        syncSums.initialize(repeating: 0)
        weight.value.data.update(repeating: 1, count: numFeatures)
        runningVar.data.update(repeating: 1, count: numFeatures)
    }

    deinit { syncSums.deallocate() }

    public var parameters: [Parameter] { [weight, bias] }

    public var buffers: [(name: String, value: BufferValue)] {
        [("running_mean", .float(runningMean)), ("running_var", .float(runningVar)),
         ("num_batches_tracked", .int64(numBatchesTracked))]
    }

    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        if training {
            let (kernel, out) = trainingForward(input)
            Parallel.forEachRange(numFeatures, kernel)
            return out
        }
        let out = prepareOutput(input.shape)
        Parallel.forEachRange(numFeatures, EvalForward(normalize: normalization(ChannelMap(input), input.shape, ChannelMap(out),
                                                                                mean: runningMean),
                                                       runningVar: SendablePointer(runningVar.data), eps: eps))
        savedInput = nil
        trainedInputShape = nil
        return out
    }

    /// A training forward's bookkeeping (output map, saved input, num_batches_tracked) and
    /// its per-channel kernel, for a caller that runs the kernel, possibly channel by
    /// channel inside a fused loop (DepthwiseSeparableBlock). The output is valid once
    /// the kernel has run over every channel.
    func trainingForward(_ input: FeatureMap) -> (kernel: TrainingForward, output: FeatureMap) {
        let out = prepareOutput(input.shape)
        return (trainingForward(input, into: ChannelMap(out)), out)
    }

    /// As ``trainingForward(_:)``, reading channel c of an input of `shape` from `input`
    /// (per-thread slots a preceding stage of a fused loop writes, ``ChannelMap``).
    func trainingForward(reading input: ChannelMap, shape: FeatureShape) -> (kernel: TrainingForward, output: FeatureMap) {
        let out = prepareOutput(shape)
        return (trainingForward(reading: input, shape: shape, into: ChannelMap(out)), out)
    }

    /// A training forward whose output goes to `output` channel by channel, for a fused
    /// caller whose next stage reads each channel from a per-thread slot (``ChannelMap``);
    /// its backward then needs ``recomputeKernel(into:)`` where it would read the output.
    func trainingForward(_ input: FeatureMap, into output: ChannelMap) -> TrainingForward {
        let kernel = trainingForward(reading: ChannelMap(input), shape: input.shape, into: output)
        savedInput = input
        return kernel
    }

    /// A training forward reading channel c of an input of `shape` from `input` (a whole
    /// map or per-thread slots a preceding stage of a fused loop writes, ``ChannelMap``);
    /// after one from slots, backward needs the input given again
    /// (``backwardKernel(_:input:into:)``).
    func trainingForward(reading input: ChannelMap, shape: FeatureShape, into output: ChannelMap) -> TrainingForward {
        precondition(shape.channels == numFeatures, "BatchNorm2d: expected \(numFeatures) channels, got \(shape)")
        // fatalError, not precondition: release builds drop a precondition's message, and
        // this is the misuse a caller meets first (a batch of one image at 1×1 maps).
        guard shape.channelStride > 1 else {
            fatalError("BatchNorm2d: Expected more than 1 value per channel when training, got input size \(shape.nchw) (N, C, H, W); train on batches with N·H·W > 1, or evaluate with training: false")
        }
        numBatchesTracked.value += 1
        savedInput = nil
        trainedInputShape = shape
        return TrainingForward(normalize: normalization(input, shape, output, mean: batchMean),
                               runningMean: SendablePointer(runningMean.data), runningVar: SendablePointer(runningVar.data),
                               eps: Double(eps), momentum: cumulativeAverage ? Float(1 / Double(numBatchesTracked.value)) : momentum)
    }

    /// The kernel writing the last training forward's output again into `output`, bit for
    /// bit (saved input, batch statistics, γ and β unchanged since).
    /// - Precondition: after a training forward.
    func recomputeKernel(into output: ChannelMap) -> Recompute {
        guard let input = savedInput else { preconditionFailure("BatchNorm2d: nothing to recompute without a training forward") }
        return Recompute(normalize: normalization(ChannelMap(input), input.shape, output, mean: batchMean))
    }

    /// The output map, reshaped to the input's shape.
    private func prepareOutput(_ shape: FeatureShape) -> FeatureMap {
        precondition(shape.channels == numFeatures, "BatchNorm2d: expected \(numFeatures) channels, got \(shape)")
        let out = FeatureMap.reuse(output, for: shape)
        output = out
        return out
    }

    /// Pointers for normalising `input` into `output` with the given mean.
    private func normalization(_ input: ChannelMap, _ shape: FeatureShape, _ output: ChannelMap, mean: Tensor) -> Normalize {
        Normalize(x: input, y: output, count: shape.channelStride,
                  gamma: SendablePointer(weight.value.data), beta: SendablePointer(bias.value.data),
                  mean: SendablePointer(mean.data), meanLow: SendablePointer(batchMeanLow.data),
                  invStd: SendablePointer(batchInvStd.data), fused: fusedReLU6)
    }

    /// With dy' = dy (masked by ReLU6's derivative when fused), per channel:
    /// dx = γ·invstd/M · (M·dy' − Σdy' − x̂·Σ(dy'·x̂)); dγ += Σ dy'·x̂; dβ += Σ dy'.
    /// - Precondition: after a training forward, `gradOutput` shaped as its input.
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        let (kernel, dxMap) = backwardKernel(gradOutput)
        Parallel.forEachRange(numFeatures, kernel)
        return dxMap
    }

    /// The backward's per-channel kernel and its gradInput map (valid once the kernel has
    /// run over every channel), for a caller that fuses it with another per-channel loop.
    /// The gradient goes into `target` if given (it may be `gradOutput` itself: the kernel
    /// works in place), else into the layer's own map.
    func backwardKernel(_ gradOutput: FeatureMap, into target: FeatureMap? = nil) -> (kernel: Backward, gradInput: FeatureMap) {
        guard let input = savedInput else { preconditionFailure("BatchNorm2d.backward called without a training forward") }
        let dxMap = FeatureMap.gradientTarget(target, owned: &gradInput, for: input.shape)
        return (backwardKernel(gradOutput, into: ChannelMap(dxMap)), dxMap)
    }

    /// The backward's per-channel kernel writing the input gradient to `target` channel by
    /// channel (a whole map or per-thread slots, ``ChannelMap``).
    func backwardKernel(_ gradOutput: FeatureMap, into target: ChannelMap) -> Backward {
        guard let input = savedInput else { preconditionFailure("BatchNorm2d.backward called without a training forward") }
        return backwardKernel(gradOutput, input: ChannelMap(input), into: target)
    }

    /// The backward's per-channel kernel reading the forward's input from `input` (a whole
    /// map or per-thread slots holding it again, ``ChannelMap``). `target` may be `input`
    /// itself or `gradOutput`'s map: the gradient then overwrites it, exactly.
    func backwardKernel(_ gradOutput: FeatureMap, input: ChannelMap, into target: ChannelMap) -> Backward {
        guard let shape = trainedInputShape else { preconditionFailure("BatchNorm2d.backward called without a training forward") }
        precondition(gradOutput.shape == shape, "BatchNorm2d.backward: expected gradOutput \(shape), got \(gradOutput.shape)")
        return Backward(
            x: input, dy: SendablePointer(gradOutput.data), dx: target,
            count: shape.channelStride, gamma: SendablePointer(weight.value.data), beta: SendablePointer(bias.value.data),
            gradGamma: SendablePointer(weight.grad.data), gradBeta: SendablePointer(bias.grad.data),
            mean: SendablePointer(batchMean.data), meanLow: SendablePointer(batchMeanLow.data),
            invStd: SendablePointer(batchInvStd.data), fused: fusedReLU6)
    }
}
