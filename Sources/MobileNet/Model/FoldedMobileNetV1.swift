/// MobileNetV1 for inference, with every BatchNorm folded into the convolution before it
/// (the standard deployment transform; the model's eval-mode forward is its reference).
///
/// For a convolution W followed by BatchNorm with running statistics μ, σ² and affine
/// γ, β, eval-mode BN(W∗x) = W'∗x + b' with, per output channel c,
/// s_c = γ_c / √(σ²_c + eps), W'_c = s_c·W_c, b'_c = β_c − s_c·μ_c.
/// Each depthwise convolution then runs per channel with its bias and ReLU6 applied while
/// the channel is in cache, and applies the bias and ReLU6 of the GEMM before it (entry or
/// pointwise) to its input channel just before reading it: no separate pass over a GEMM's
/// output (except the last block's, before the pooling), no BatchNorm pass.
/// - Input: normalised images [inputChannels, H, W, N] (engine layout); output: logits
///   [numClasses, 1, 1, N], owned by the model (valid until the next forward).
/// - A snapshot: later changes to the source model's weights are not seen.
public final class FoldedMobileNetV1 {
    /// One convolution with its folded bias: `weight` [Cout, Cin/groups·K·K] row-major, `bias` [Cout].
    struct FoldedConv {
        let weight: Tensor
        let bias: Tensor
    }

    let entry: FoldedConv
    let entryGeometry: ConvGeometry
    /// Per block: depthwise [C, 9] and pointwise [Cout, Cin], with the block's stride.
    let blocks: [(depthwise: FoldedConv, pointwise: FoldedConv, geometry: ConvGeometry)]
    let linearWeight: Tensor
    let linearBias: Tensor
    public let inputChannels: Int
    public let numClasses: Int

    /// Planned on the first forward (activations alternate between `ping`, holding the entry
    /// and pointwise outputs, and `pong`, the depthwise outputs), reused afterwards.
    private var ping: FeatureMap?
    private var pong: FeatureMap?
    private var columns: Tensor?
    private var pooled: FeatureMap?
    private var logits: FeatureMap?

    /// Folds `model`'s current weights and running statistics.
    public init(folding model: MobileNetV1) {
        inputChannels = model.inputChannels
        numClasses = model.numClasses
        entry = Self.fold(model.entryConv.weight.value, model.entryNorm)
        entryGeometry = model.entryConv.geometry
        blocks = model.blocks.map { block in
            (Self.fold(block.depthwise.weight.value, block.depthNorm), Self.fold(block.pointwise.weight.value, block.pointNorm),
             block.depthwise.geometry)
        }
        linearWeight = Tensor(shape: model.linear.weight.value.shape)
        linearWeight.copy(from: model.linear.weight.value)
        linearBias = Tensor(shape: model.linear.bias.value.shape)
        linearBias.copy(from: model.linear.bias.value)
    }

    /// W'_c = s_c·W_c and b'_c = β_c − s_c·μ_c with s_c = γ_c / √(σ²_c + eps).
    static func fold(_ weight: Tensor, _ norm: BatchNorm2d) -> FoldedConv {
        let outChannels = weight.shape[0], perChannel = weight.count / outChannels
        let folded = FoldedConv(weight: Tensor(shape: [outChannels, perChannel]), bias: Tensor(shape: [outChannels]))
        for c in 0..<outChannels {
            let variance = Double(norm.runningVar.data[c]) + Double(norm.eps)
            let scale = Double(norm.weight.value.data[c]) / variance.squareRoot()
            for i in 0..<perChannel {
                folded.weight.data[c * perChannel + i] = Float(scale * Double(weight.data[c * perChannel + i]))
            }
            folded.bias.data[c] = Float(Double(norm.bias.value.data[c]) - scale * Double(norm.runningMean.data[c]))
        }
        return folded
    }

    /// Logits [numClasses, 1, 1, N] of eval-mode MobileNetV1 on `input`.
    /// - Precondition: `input.shape.channels == inputChannels`.
    public func forward(_ input: FeatureMap) -> FeatureMap {
        precondition(input.shape.channels == inputChannels, "expected \(inputChannels) input channels, got \(input.shape)")
        // Entry: im2col + one GEMM, then bias + ReLU6.
        var shape = entryGeometry.outputShape(input.shape, outChannels: entry.bias.count)
        var x = buffer(&ping, shape)
        let rows = input.shape.channels * entryGeometry.kernelSize * entryGeometry.kernelSize
        let length = shape.channelStride
        if columns == nil || columns!.count < rows * length { columns = Tensor(shape: [rows * length]) }
        let cols = columns!
        Parallel.forEachRange(input.shape.channels, Conv2d.ColumnCopy(
            toColumns: true, image: SendablePointer(input.data), columns: SendablePointer(cols.data),
            shape: input.shape, geometry: entryGeometry))
        BLAS.sgemm(m: shape.channels, n: length, k: rows, a: entry.weight.data, lda: rows,
                   b: cols.data, ldb: length, c: x.data, ldc: length)
        // The bias + ReLU6 still owed to `x` (the last GEMM's output), per channel.
        var pendingBias = entry.bias
        for block in blocks {
            // Per channel: the pending bias + ReLU6 on the input in `ping`, then the depthwise
            // with its bias + ReLU6 into `pong`.
            let dwShape = block.geometry.outputShape(shape, outChannels: shape.channels)
            let y = buffer(&pong, dwShape)
            Parallel.forEachRange(shape.channels, DepthwiseBiasReLU6(
                x: SendablePointer(x.data), inputBias: SendablePointer(pendingBias.data), w: SendablePointer(block.depthwise.weight.data),
                bias: SendablePointer(block.depthwise.bias.data), y: SendablePointer(y.data), shape: shape, geometry: block.geometry))
            // Pointwise GEMM back into `ping` (its input is consumed), then bias + ReLU6.
            shape = FeatureShape(channels: block.pointwise.bias.count, height: dwShape.height, width: dwShape.width, batch: dwShape.batch)
            x = buffer(&ping, shape)
            let n = shape.channelStride
            BLAS.sgemm(m: shape.channels, n: n, k: dwShape.channels, a: block.pointwise.weight.data, lda: dwShape.channels,
                       b: y.data, ldb: n, c: x.data, ldc: n)
            pendingBias = block.pointwise.bias
        }
        Parallel.forEachRange(shape.channels, BiasReLU6(y: SendablePointer(x.data), bias: SendablePointer(pendingBias.data),
                                                        count: shape.channelStride))
        let features = buffer(&pooled, FeatureShape(channels: shape.channels, height: 1, width: 1, batch: shape.batch))
        Parallel.forEachRange(shape.channels, AdaptiveAvgPool2d.Average(
            x: SendablePointer(x.data), y: SendablePointer(features.data), pixels: shape.spatial, batch: shape.batch))
        let out = buffer(&logits, FeatureShape(channels: numClasses, height: 1, width: 1, batch: shape.batch))
        let batch = shape.batch
        for o in 0..<numClasses { (out.data + o * batch).update(repeating: linearBias.data[o], count: batch) }
        BLAS.sgemm(m: numClasses, n: batch, k: shape.channels, a: linearWeight.data, lda: shape.channels,
                   b: features.data, ldb: batch, beta: 1, c: out.data, ldc: batch)
        return out
    }

    /// `map` reshaped to `shape`, allocated only when it cannot hold it.
    private func buffer(_ map: inout FeatureMap?, _ shape: FeatureShape) -> FeatureMap {
        let reused = FeatureMap.reuse(map, for: shape)
        map = reused
        return reused
    }

    /// y[c, :] = min(max(y[c, :] + bias[c], 0), 6) over a range of channels of `count` values each.
    struct BiasReLU6: ParallelKernel {
        let y: SendablePointer<Float>, bias: SendablePointer<Float>
        let count: Int

        func run(_ channels: Range<Int>) {
            for c in channels {
                let row = y.base + c * count, b = bias[c]
                for i in 0..<count { row[i] = ReLU6.clamp(row[i] + b) }
            }
        }
    }

    /// Over a range of channels: x[c, :] = min(max(x[c, :] + inputBias[c], 0), 6) in place,
    /// then the depthwise forward of the channel, then bias + ReLU6 on its output, all while
    /// the channel is in cache.
    struct DepthwiseBiasReLU6: ParallelKernel {
        let x: SendablePointer<Float>, inputBias: SendablePointer<Float>
        let w: SendablePointer<Float>, bias: SendablePointer<Float>, y: SendablePointer<Float>
        let shape: FeatureShape
        let geometry: ConvGeometry

        func run(_ channels: Range<Int>) {
            let out = geometry.outputShape(shape, outChannels: shape.channels)
            let taps = geometry.kernelSize * geometry.kernelSize
            DepthwiseKernels.withTapLists(taps) { tapWeights, tapSources in
                for c in channels {
                    let xc = x.base + c * shape.channelStride, yc = y.base + c * out.channelStride
                    BiasReLU6(y: x, bias: inputBias, count: shape.channelStride).run(c ..< c + 1)
                    DepthwiseKernels.forwardChannel(xc, w.base + c * taps, yc, shape, out, geometry, tapWeights, tapSources)
                    BiasReLU6(y: y, bias: bias, count: out.channelStride).run(c ..< c + 1)
                }
            }
        }
    }
}

extension MobileNetV1 {
    /// An inference copy of this network with BatchNorm folded into the convolutions
    /// (``FoldedMobileNetV1``); its logits equal `forward(_:training: false)` up to rounding.
    public func makeInferenceModel() -> FoldedMobileNetV1 { FoldedMobileNetV1(folding: self) }
}
