/// MobileNetV1 (Howard et al. 2017, arXiv:1704.04861), CIFAR variant, returning logits.
///
/// The network of the original PyTorch CIFAR-10 tutorial (its PyTorch definition:
/// `python/mobilenet_cpu`): an entry 3×3 conv with
/// stride 1, thirteen depthwise-separable blocks (``DepthwiseSeparableBlock``) from
/// ``blockTable``, global average pooling and a linear classifier. The width
/// multiplier α (§3.3) scales every channel count to `Int(n·α)` (Python's `int`,
/// i.e. truncation), as that tutorial does.
///
/// - Input: normalised images as a ``FeatureMap`` [inputChannels, H, W, N] (engine
///   layout). The CIFAR variant expects 32×32, but any H, W ≥ 1 work.
/// - Output: logits [numClasses, 1, 1, N]; no softmax (that belongs to the loss).
/// - Parameters and buffers carry that PyTorch model's `state_dict` names (`entry.0.weight`,
///   `stage2.3.pointConv.1.running_var`, `linear.bias`, …), in PyTorch's order.
public final class MobileNetV1 {
    /// One row of the paper's Table 1, CIFAR variant: a block's place and shape at α = 1.
    public struct BlockSpec: Sendable, Equatable {
        public let stage: Int
        public let index: Int
        public let inChannels: Int
        public let outChannels: Int
        public let stride: Int
        /// The block's module path, e.g. "stage2.3".
        public var name: String { "stage\(stage).\(index)" }
    }

    /// The thirteen depthwise-separable blocks at α = 1: (in, out, stride) per stage.
    public static let blockTable: [BlockSpec] = {
        let stages: [[(Int, Int, Int)]] = [
            [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1)],
            [(256, 512, 2)] + Array(repeating: (512, 512, 1), count: 5),
            [(512, 1024, 2), (1024, 1024, 1)],
        ]
        return stages.enumerated().flatMap { stage, rows in
            rows.enumerated().map { index, row in
                BlockSpec(stage: stage + 1, index: index, inChannels: row.0, outChannels: row.1, stride: row.2)
            }
        }
    }()

    /// Channels of the entry conv at α = 1.
    public static let entryChannels = 32

    public let numClasses: Int
    public let inputChannels: Int
    public let widthMultiplier: Double

    /// Entry: Conv2d(inputChannels → c(32), 3×3, stride 1, pad 1, no bias) — `entry.0`.
    public let entryConv: Conv2d
    /// Entry BatchNorm2d + ReLU6, fused — `entry.1` (ReLU6 is `entry.2`, no state).
    public let entryNorm: BatchNorm2d
    /// The thirteen blocks, in order.
    public let blocks: [DepthwiseSeparableBlock]
    /// Global average pooling — `avgpool`.
    public let pool: AdaptiveAvgPool2d
    /// Classifier — `linear`.
    public let linear: Linear

    /// Every layer with its module path, in forward order.
    public let namedLayers: [(name: String, layer: any Layer)]

    /// Times the training forward and backward by kind of layer when set (by
    /// ``TrainingSession/profiler``); nil, the default, runs them unprofiled.
    var profiler: StepProfiler?

    /// The largest activation of the last training forward: the size of each gradient buffer.
    private var largestActivation: FeatureShape?
    /// The two maps every input gradient of the backward goes through, in turn (ping-pong),
    /// instead of one gradient map per layer; each holds ``largestActivation``.
    private var gradientBuffers: (ping: FeatureMap, pong: FeatureMap)?
    /// Per-thread slots (``ChannelMap``) for the maps the fused loops keep in cache: a
    /// block's normalised input and its depthwise output (forward, and recomputed in
    /// backward, where ∂L/∂(that output) then overwrites it). None is ever written whole.
    private var inputSlots: FeatureMap?
    private var depthwiseOutputSlots: FeatureMap?

    /// Builds the network with PyTorch's default initialisation distributions, seeded.
    /// - Parameters:
    ///   - numClasses: classifier outputs (10 for CIFAR-10).
    ///   - inputChannels: 3 for RGB.
    ///   - widthMultiplier: α in (0, 1] typically; every channel count becomes Int(n·α) ≥ 1.
    ///   - seed: initialisation seed.
    public init(numClasses: Int = 10, inputChannels: Int = 3, widthMultiplier: Double = 1.0, seed: UInt64 = 0) {
        precondition(numClasses >= 1, "expected numClasses ≥ 1, got \(numClasses)")
        precondition(inputChannels >= 1, "expected inputChannels ≥ 1, got \(inputChannels)")
        precondition(widthMultiplier > 0 && widthMultiplier.isFinite, "expected a positive width multiplier, got \(widthMultiplier)")
        self.numClasses = numClasses
        self.inputChannels = inputChannels
        self.widthMultiplier = widthMultiplier
        let c = { (n: Int) in Self.scaledChannels(n, widthMultiplier) }

        entryConv = Conv2d(inChannels: inputChannels, outChannels: c(Self.entryChannels), kernelSize: 3, stride: 1, padding: 1, bias: false)
        // The images need no gradient (as in PyTorch, where the input does not require grad).
        entryConv.computesGradInput = false
        entryNorm = BatchNorm2d(numFeatures: c(Self.entryChannels), fusedReLU6: true)
        blocks = Self.blockTable.map { spec in
            DepthwiseSeparableBlock(name: spec.name, inChannels: c(spec.inChannels), outChannels: c(spec.outChannels), stride: spec.stride)
        }
        pool = AdaptiveAvgPool2d()
        linear = Linear(inFeatures: c(Self.blockTable.last!.outChannels), outFeatures: numClasses)

        var layers: [(name: String, layer: any Layer)] = [("entry.0", entryConv), ("entry.1", entryNorm)]
        for block in blocks { layers += block.namedLayers }
        layers += [("avgpool", pool), ("linear", linear)]
        namedLayers = layers
        resetParameters(seed: seed)
    }

    /// The tutorial's channel rule: `int(n * alpha)`, at least 1.
    public static func scaledChannels(_ n: Int, _ widthMultiplier: Double) -> Int {
        max(1, Int(Double(n) * widthMultiplier))
    }

    /// Re-initialises every weight with PyTorch's default distributions (Conv2d and
    /// Linear: kaiming_uniform_(a=√5), bias U(±1/√fan_in); BatchNorm γ=1, β=0, running
    /// statistics 0/1), from one seeded generator walked in forward order.
    public func resetParameters(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        entryConv.resetParameters(using: &generator)
        for block in blocks {
            block.depthwise.resetParameters(using: &generator)
            block.pointwise.resetParameters(using: &generator)
        }
        linear.resetParameters(using: &generator)
    }

    /// Trainable parameters with their state_dict names, in PyTorch's `named_parameters()` order.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        namedLayers.flatMap { entry in entry.layer.parameters.map { ("\(entry.name).\($0.name)", $0) } }
    }

    /// Buffers (running statistics, num_batches_tracked) with their state_dict names.
    public var namedBuffers: [(name: String, value: BufferValue)] {
        namedLayers.flatMap { entry in entry.layer.buffers.map { ("\(entry.name).\($0.name)", $0.value) } }
    }

    /// Number of trainable scalars (3,217,226 at α = 1 with 10 classes).
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.count } }

    /// Forward pass. Returns logits [numClasses, 1, 1, N], owned by the classifier
    /// (valid until the next forward). The same values as running ``namedLayers`` in turn;
    /// in training, everything between two GEMMs — the BatchNorm + ReLU6 after a pointwise
    /// (or the entry) conv, the next depthwise conv and its BatchNorm + ReLU6 — runs channel
    /// by channel in one parallel loop, each channel's map consumed while still in cache.
    /// The normalised map between the BatchNorm and the depthwise conv, and the depthwise
    /// conv's output, live only in per-thread slots of one channel (``ChannelMap``);
    /// backward recomputes them.
    /// - Parameter training: batch statistics and caches for backward (true), or eval mode.
    /// - Precondition: `input.shape.channels == inputChannels`.
    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        precondition(input.shape.channels == inputChannels, "expected \(inputChannels) input channels, got \(input.shape)")
        guard training else {
            var x = input
            for entry in namedLayers { x = entry.layer.forward(x, training: false) }
            return x
        }
        var x = profiler.timed(.entryConvolution) { entryConv.forward(input, training: true) }
        var largest = x.shape
        var norm = entryNorm
        for block in blocks {
            let outputShape = block.depthwise.geometry.outputShape(x.shape, outChannels: block.depthwise.channels)
            let normalized = Self.slots(in: &inputSlots, for: x.shape)
            let depthwiseOutput = Self.slots(in: &depthwiseOutputSlots, for: outputShape)
            let normKernel = norm.trainingForward(x, into: normalized)
            let depthwiseKernel = block.depthwise.trainingForwardKernel(reading: normalized, shape: x.shape, into: depthwiseOutput)
            let (depthNormKernel, depthNormalized) = block.depthNorm.trainingForward(reading: depthwiseOutput, shape: outputShape)
            profiler.runChannels(block.depthwise.channels, (normKernel, .batchNorm), (depthwiseKernel, .depthwise),
                                 (depthNormKernel, .batchNorm))
            x = profiler.timed(.pointwise) { block.pointwise.forward(depthNormalized, training: true) }
            norm = block.pointNorm
            if outputShape.count > largest.count { largest = outputShape }
            if x.shape.count > largest.count { largest = x.shape }
        }
        largestActivation = largest
        let normalized = profiler.timed(.batchNorm) { norm.forward(x, training: true) }
        return profiler.timed(.head) { linear.forward(pool.forward(normalized, training: true), training: true) }
    }

    /// Backward pass from ∂L/∂logits [numClasses, 1, 1, N]; accumulates every
    /// parameter's gradient, fused as the forward (a block's depthwise BatchNorm, its
    /// depthwise conv and the BatchNorm before it, channel by channel). Returns the entry
    /// conv's input-gradient map, which holds zeros: the images need no gradient, so it is
    /// not computed (``Conv2d/computesGradInput``).
    ///
    /// Memory: the input gradients of the BatchNorms, depthwise and pointwise convs all
    /// live in two shared maps (ping-pong), not one map per layer. ∂L/∂(pointwise output)
    /// is in `ping`; the pointwise backward writes ∂L/∂(its input) into `pong`; then channel
    /// by channel, each into a per-thread slot: the BatchNorm before the depthwise conv
    /// recomputes its output (the conv's input), the depthwise conv recomputes its output,
    /// the depthwise BatchNorm writes ∂L/∂(depthwise output) over it; the depthwise conv writes
    /// ∂L/∂(its input) into `ping` (free once the pointwise backward has read it), where
    /// that BatchNorm works in place.
    /// - Precondition: after `forward(_:training: true)` with the same batch.
    @discardableResult
    public func backward(_ gradLogits: FeatureMap) -> FeatureMap {
        guard let largestActivation else { preconditionFailure("MobileNetV1.backward needs a forward(_:training: true) first") }
        let ping = FeatureMap.reuse(gradientBuffers?.ping, for: largestActivation)
        let pong = FeatureMap.reuse(gradientBuffers?.pong, for: largestActivation)
        gradientBuffers = (ping, pong)
        let lastNorm = blocks.last?.pointNorm ?? entryNorm
        let gradPooled = profiler.timed(.head) { pool.backward(linear.backward(gradLogits)) }
        let (lastNormKernel, gradLastNormInput) = lastNorm.backwardKernel(gradPooled, into: ping)
        profiler.run(lastNorm.numFeatures, lastNormKernel, as: .batchNorm)
        var g = gradLastNormInput
        for index in blocks.indices.reversed() {
            let block = blocks[index]
            let gradPointwiseInput = profiler.timed(.pointwise) { block.pointwise.backward(g, into: pong) }
            guard let inputShape = block.depthwise.trainedInputShape else {
                preconditionFailure("MobileNetV1.backward needs a forward(_:training: true) first")
            }
            let normalized = Self.slots(in: &inputSlots, for: inputShape)
            let depthwiseOutput = Self.slots(in: &depthwiseOutputSlots, for: gradPointwiseInput.shape)
            let norm = index > 0 ? blocks[index - 1].pointNorm : entryNorm
            let normRecompute = norm.recomputeKernel(into: normalized)
            let depthwiseRecompute = block.depthwise.recomputeKernel(reading: normalized, into: depthwiseOutput)
            // ∂L/∂(depthwise output) overwrites that output, once its BatchNorm has read it.
            let depthNormKernel = block.depthNorm.backwardKernel(gradPointwiseInput, input: depthwiseOutput, into: depthwiseOutput)
            ping.reshape(inputShape)
            let depthwiseKernel = block.depthwise.backwardKernel(depthwiseOutput, input: normalized, into: ping)
            let (normKernel, gradNormInput) = norm.backwardKernel(ping, into: ping)
            profiler.runChannels(block.depthwise.channels, (normRecompute, .batchNorm), (depthwiseRecompute, .depthwise),
                                 (depthNormKernel, .batchNorm), (depthwiseKernel, .depthwise), (normKernel, .batchNorm))
            g = gradNormInput
        }
        return profiler.timed(.entryConvolution) { entryConv.backward(g) }
    }

    /// Slots in `scratch` (grown as needed) for a fused loop over `shape`'s channels.
    private static func slots(in scratch: inout FeatureMap?, for shape: FeatureShape) -> ChannelMap {
        let map = FeatureMap.reuse(scratch, for: FeatureShape(channels: 1, height: 1, width: 1, batch: ChannelMap.slotFloats(shape)))
        scratch = map
        return ChannelMap.slots(in: map, for: shape)
    }

    /// Sets every parameter gradient to zero (optimizer.zero_grad()).
    public func zeroGrad() {
        for entry in namedLayers { for p in entry.layer.parameters { p.zeroGrad() } }
    }
}
