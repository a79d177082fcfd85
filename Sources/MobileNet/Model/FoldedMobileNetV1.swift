/// MobileNetV1 for inference, with every BatchNorm folded into the convolution before it
/// (the standard deployment transform; the model's eval-mode forward is its reference).
///
/// For a convolution W followed by BatchNorm with running statistics μ, σ² and affine
/// γ, β, eval-mode BN(W∗x) = W'∗x + b' with, per output channel c,
/// s_c = γ_c / √(σ²_c + eps), W'_c = s_c·W_c, b'_c = β_c − s_c·μ_c.
/// The entry conv runs as a direct convolution and each depthwise convolution per
/// channel, both with their bias and ReLU6 applied as each sum is stored; each pointwise
/// GEMM stores its plain product, and its bias and ReLU6 are applied where that output is
/// next read (the next depthwise, channel by channel, or the average pool). No BatchNorm
/// pass and no pass of its own for any bias. Every pointwise product and the classifier
/// is an OpenBLAS SGEMM call (``BLAS``), at every batch size.
/// A batch of at least 16 images per thread (32 on one or two threads) is cut into pieces
/// that each run the whole network on one thread (``forward(_:)``).
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

    /// One workspace per batch piece, planned on first use and reused.
    private var workspaces: [Workspace] = []
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

    /// Images per piece below which a batch is not cut: smaller GEMMs lose more speed than
    /// the cut saves, so the layers are parallelised over channels instead.
    static let minimumPieceBatch = 16

    /// How many pieces a batch of `batch` images is cut into: ``BLAS/pieces``
    /// (max(2, threads)) when each piece gets at least ``minimumPieceBatch`` images, else 1.
    /// It depends only on the batch size and max(2, threads), so logits are bitwise the
    /// same with 1 or 2 threads.
    static func pieceCount(batch: Int) -> Int {
        batch >= BLAS.pieces * minimumPieceBatch ? BLAS.pieces : 1
    }

    /// Logits [numClasses, 1, 1, N] of eval-mode MobileNetV1 on `input`.
    ///
    /// A batch of at least ``BLAS/pieces`` × ``minimumPieceBatch`` images is cut into ``pieceCount(batch:)``
    /// pieces of consecutive images, and each piece runs the whole network on one thread
    /// (single-threaded GEMMs and depthwise passes, its own buffers): no barrier between
    /// layers, and each GEMM keeps one core's caches. A smaller batch runs as one piece
    /// whose layers are each split over the threads (channels or GEMM blocks).
    /// - Precondition: `input.shape.channels == inputChannels`.
    public func forward(_ input: FeatureMap) -> FeatureMap {
        precondition(input.shape.channels == inputChannels, "expected \(inputChannels) input channels, got \(input.shape)")
        let batch = input.shape.batch
        let pieces = Self.pieceCount(batch: batch)
        while workspaces.count < pieces { workspaces.append(Workspace()) }
        let out = FeatureMap.reuse(logits, for: FeatureShape(channels: numClasses, height: 1, width: 1, batch: batch))
        logits = out
        if pieces == 1 {
            forwardPiece(input, images: 0..<batch, into: out, workspace: workspaces[0], parallel: true)
        } else {
            Parallel.forEachRange(pieces, PieceForward(model: self, input: input, output: out, pieces: pieces))
        }
        return out
    }

    /// Runs the pieces of one batch, each on the thread that draws it.
    struct PieceForward: ParallelKernel {
        /// Only read here, except each piece's own workspace and logit columns.
        nonisolated(unsafe) let model: FoldedMobileNetV1
        let input: FeatureMap, output: FeatureMap
        let pieces: Int

        func run(_ range: Range<Int>) {
            let batch = input.shape.batch
            for piece in range {
                model.forwardPiece(input, images: batch * piece / pieces ..< batch * (piece + 1) / pieces,
                                   into: output, workspace: model.workspaces[piece], parallel: false)
            }
        }
    }

    /// Buffers of one batch piece: activations alternate between `ping` (entry and
    /// pointwise outputs) and `pong` (depthwise outputs).
    final class Workspace {
        var input: FeatureMap?
        var ping: FeatureMap?
        var pong: FeatureMap?
        var pooled: FeatureMap?
    }

    /// The network on images `images` of `input`, writing their logits into columns
    /// `images` of `output` [numClasses, 1, 1, N]. With `parallel`, each layer is split over
    /// the engine's threads; without, everything runs on the calling thread.
    func forwardPiece(_ input: FeatureMap, images: Range<Int>, into output: FeatureMap, workspace ws: Workspace, parallel: Bool) {
        // The piece's images as a map of their own (C × H × W rows of `images.count` values).
        let x0: FeatureMap
        if images.count == input.shape.batch {
            x0 = input
        } else {
            var shape = input.shape
            shape.batch = images.count
            x0 = Self.buffer(&ws.input, shape)
            for row in 0..<(shape.channels * shape.spatial) {
                (x0.data + row * images.count).update(from: input.data + row * input.shape.batch + images.lowerBound,
                                                      count: images.count)
            }
        }
        // Entry: a direct convolution, each output channel a weighted sum of the input
        // channels' shifted maps with its bias + ReLU6 applied as it is stored (with 3 input
        // channels, cheaper than im2col + a GEMM of depth 27).
        var shape = entryGeometry.outputShape(x0.shape, outChannels: entry.bias.count)
        var x = Self.buffer(&ws.ping, shape)
        run(shape.channels, parallel, ConvolutionBiasReLU6(
            x: SendablePointer(x0.data), w: SendablePointer(entry.weight.data), bias: SendablePointer(entry.bias.data),
            y: SendablePointer(x.data), shape: x0.shape, geometry: entryGeometry, depthwise: false))
        // The bias of the map in `x` whose ReLU6 is still to be applied (the last pointwise output).
        var pendingBias: SendablePointer<Float>?
        for block in blocks {
            // The previous pointwise's bias + ReLU6 applied channel by channel as the depthwise
            // reads it, the depthwise with its bias + ReLU6 into `pong`, then the pointwise GEMM
            // (plain product) back into `ping` (its input is consumed).
            let dwShape = block.geometry.outputShape(shape, outChannels: shape.channels)
            let y = Self.buffer(&ws.pong, dwShape)
            run(shape.channels, parallel, ConvolutionBiasReLU6(
                x: SendablePointer(x.data), w: SendablePointer(block.depthwise.weight.data),
                bias: SendablePointer(block.depthwise.bias.data), y: SendablePointer(y.data),
                shape: shape, geometry: block.geometry, depthwise: true, inputBias: pendingBias))
            shape = FeatureShape(channels: block.pointwise.bias.count, height: dwShape.height, width: dwShape.width, batch: dwShape.batch)
            x = Self.buffer(&ws.ping, shape)
            let n = shape.channelStride
            Self.sgemm(parallel, m: shape.channels, n: n, k: dwShape.channels, a: block.pointwise.weight.data, lda: dwShape.channels,
                       b: y.data, ldb: n, c: x.data, ldc: n)
            pendingBias = SendablePointer(block.pointwise.bias.data)
        }
        let features = Self.buffer(&ws.pooled, FeatureShape(channels: shape.channels, height: 1, width: 1, batch: shape.batch))
        run(shape.channels, parallel, BiasReLU6Average(
            x: SendablePointer(x.data), bias: pendingBias, y: SendablePointer(features.data),
            pixels: shape.spatial, batch: shape.batch))
        // Linear into the piece's logit columns: bias, then += W · features.
        let total = output.shape.batch, first = output.data + images.lowerBound
        for o in 0..<numClasses { (first + o * total).update(repeating: linearBias.data[o], count: images.count) }
        Self.sgemm(parallel, m: numClasses, n: images.count, k: shape.channels, a: linearWeight.data, lda: shape.channels,
                   b: features.data, ldb: images.count, beta: 1, c: first, ldc: total)
    }

    /// `kernel` over `0..<count`: split over the threads, or on the calling thread.
    private func run<Kernel: ParallelKernel>(_ count: Int, _ parallel: Bool, _ kernel: Kernel) {
        if parallel { Parallel.forEachRange(count, kernel) } else if count > 0 { kernel.run(0..<count) }
    }

    /// C ← A·B + beta·C (row-major, no transposes) through OpenBLAS, whatever n (at batch 1
    /// the pointwise products on 4×4 and 2×2 maps have 16 or 4 columns and the linear
    /// layer one): with `parallel`, ``BLAS/sgemm`` (one call, or from
    /// ``BLAS/parallelMultiplyAdds`` on, blocks of C on the engine's threads; the cut depends
    /// only on the shape and max(2, threads), so logits are bitwise the same on 1 and 2
    /// threads); without, one call on the calling thread.
    ///
    /// OpenBLAS copies ("packs") A, the layer's weights (up to 4 MB), into its own panels on
    /// every call, which costs the most where B has few columns: at batch 1 the layers on
    /// 4×4 and 2×2 maps and the linear layer hold 12.1 of the network's 12.8 MB of weights
    /// and 29.4 of its 46.4 M multiply-adds (docs/onnx.md, "Batch 1 in the folded model").
    private static func sgemm(_ parallel: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if parallel {
            BLAS.sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else if m > 0 && n > 0 {
            BLAS.record(GEMMCall(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, beta: beta, route: .serial))
            BLAS.serialSgemm(false, false, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
        }
    }

    /// `map` reshaped to `shape`, allocated only when it cannot hold it.
    private static func buffer(_ map: inout FeatureMap?, _ shape: FeatureShape) -> FeatureMap {
        let reused = FeatureMap.reuse(map, for: shape)
        map = reused
        return reused
    }

    /// row[i] = min(max(row[i] + bias, 0), 6) for i in 0..<count (NaN stays NaN, as ``ReLU6/clamp(_:)``).
    @inline(__always)
    static func biasReLU6(_ row: UnsafeMutablePointer<Float>, count: Int, bias: Float) {
        var i = 0
        while i + FloatLanes.width <= count {
            FloatLanes.store(DirectConvolution.epilogue(FloatLanes.load(row + i), bias), row + i)
            i += FloatLanes.width
        }
        while i < count {
            row[i] = ReLU6.clamp(row[i] + bias)
            i += 1
        }
    }

    /// The global average pool of a pointwise output whose bias and ReLU6 are still to be
    /// applied: y[c, n] = (Σ_p min(max(x[c, p, n] + bias[c], 0), 6)) / P over a range of
    /// channels, x [C, P, N] (P = H·W pixels), y [C, N]; the pixels summed in order, as
    /// ``AdaptiveAvgPool2d``. Without `bias`, the plain average of x. x is left as it is.
    struct BiasReLU6Average: ParallelKernel {
        let x: SendablePointer<Float>, bias: SendablePointer<Float>?, y: SendablePointer<Float>
        let pixels: Int, batch: Int

        func run(_ channels: Range<Int>) {
            guard let bias else {
                AdaptiveAvgPool2d.Average(x: x, y: y, pixels: pixels, batch: batch).run(channels)
                return
            }
            let n = batch, divisor = Float(pixels)
            for c in channels {
                let yc = y.base + c * n, xc = x.base + c * pixels * n, b = bias[c]
                for i in 0..<n { yc[i] = ReLU6.clamp(xc[i] + b) }
                for p in 1..<max(1, pixels) {
                    let xp = xc + p * n
                    for i in 0..<n { yc[i] += ReLU6.clamp(xp[i] + b) }
                }
                for i in 0..<n { yc[i] /= divisor }
            }
        }
    }

    /// A K×K convolution with its bias and ReLU6 applied as each sum is stored, over a range
    /// of output channels o: y[o] = min(max(Σ w[o, i, a, b] · x[i, shifted by (a, b)] + bias[o], 0), 6),
    /// the sum over every input channel i (dense: weight [Cout, Cin·K·K]) or over i = o alone
    /// (`depthwise`: weight [C, K·K]). Input [Cin, H, W, N] (`shape`), output [Cout, F, F', N].
    ///
    /// With `inputBias` (depthwise only), the input is a pointwise product whose bias and
    /// ReLU6 are still to be applied: each channel becomes min(max(x[c] + inputBias[c], 0), 6)
    /// in place, just before its convolution reads it (the channel is then in cache for the
    /// convolution; no pass of its own over the whole map, no barrier between the two).
    /// The outputs are bitwise those of a separate bias + ReLU6 pass before.
    struct ConvolutionBiasReLU6: ParallelKernel {
        let x: SendablePointer<Float>, w: SendablePointer<Float>, bias: SendablePointer<Float>, y: SendablePointer<Float>
        let shape: FeatureShape
        let geometry: ConvGeometry
        let depthwise: Bool
        var inputBias: SendablePointer<Float>? = nil

        func run(_ channels: Range<Int>) {
            let out = geometry.outputShape(shape, outChannels: 1)
            let inputChannels = depthwise ? 1 : shape.channels
            let taps = inputChannels * geometry.kernelSize * geometry.kernelSize
            precondition(inputBias == nil || depthwise, "an input bias is applied per channel: depthwise only")
            if shape.batch == 1 {
                runSingleImage(channels, out: out, inputChannels: inputChannels, taps: taps)
                return
            }
            DirectConvolution.withTapLists(taps) { tapWeights, tapSources in
                for c in channels {
                    if let inputBias {
                        FoldedMobileNetV1.biasReLU6(x.base + c * shape.channelStride, count: shape.channelStride, bias: inputBias[c])
                    }
                    DirectConvolution.forwardChannel(x.base + (depthwise ? c * shape.channelStride : 0), w.base + c * taps,
                                                    y.base + c * out.channelStride, shape, out, geometry, tapWeights, tapSources,
                                                    outputBias: bias[c], inputChannels: inputChannels)
                }
            }
        }

        /// Batch 1 (a service's call): the general path computes every output pixel whose
        /// taps reach into the padding, and at stride 2 every pixel, as its own weighted sum of
        /// length 1, and its vectors run along the batch, here of one image. Here the input
        /// maps are copied into a zero-padded buffer of rows of W + 2p floats, and output
        /// (oy, ox) at stride 1 is the weighted sum at flat index q = oy·(W + 2p) + ox of the
        /// shifted copies padded[i, q + a·(W + 2p) + b]: one weighted sum over the whole
        /// plane, 16 pixels per vector whatever the width (the two columns x ≥ F that fall
        /// between rows are computed and dropped). Stride 2 takes every other row and
        /// column of that stride-1 plane (4× the multiply-adds, but in vectors). The taps are
        /// summed in the same order (input channel, kernel row, kernel column) with fused
        /// multiply-adds from zero, and a tap in the padding adds w·0 = ±0, which leaves every
        /// partial sum unchanged: the outputs are bitwise those of the general path.
        func runSingleImage(_ channels: Range<Int>, out: FeatureShape, inputChannels: Int, taps: Int) {
            let k = geometry.kernelSize, s = geometry.stride, p = geometry.padding
            let paddedWidth = shape.width + 2 * p, paddedPlane = (shape.height + 2 * p) * paddedWidth
            // Stride-1 output rows over the padded width; reads reach k − 1 floats past the planes.
            let flatRows = shape.height + 2 * p - k + 1, flatLength = flatRows * paddedWidth
            withUnsafeTemporaryAllocation(of: Float.self, capacity: inputChannels * paddedPlane + k + flatLength) { buffer in
                let base = buffer.baseAddress!, flat = base + inputChannels * paddedPlane + k
                base.update(repeating: 0, count: inputChannels * paddedPlane + k)
                /// Copies the `inputChannels` maps from channel `first` into the padded buffer
                /// (its border stays zero).
                func pad(from first: Int) {
                    for i in 0..<inputChannels {
                        let source = x.base + (first + i) * shape.channelStride
                        for row in 0..<shape.height {
                            (base + i * paddedPlane + (row + p) * paddedWidth + p).update(from: source + row * shape.width, count: shape.width)
                        }
                    }
                }
                if !depthwise { pad(from: 0) }
                DirectConvolution.withTapLists(taps) { tapWeights, tapSources in
                    var t = 0
                    for i in 0..<inputChannels {
                        for a in 0..<k {
                            for b in 0..<k {
                                tapSources[t] = UnsafePointer(base + i * paddedPlane + a * paddedWidth + b)
                                t += 1
                            }
                        }
                    }
                    for c in channels {
                        if let inputBias {
                            FoldedMobileNetV1.biasReLU6(x.base + c * shape.channelStride, count: shape.channelStride, bias: inputBias[c])
                        }
                        if depthwise { pad(from: c) }
                        let w = self.w.base + c * taps, y = self.y.base + c * out.channelStride
                        for t in 0..<taps { tapWeights[t] = w[t] }
                        DirectConvolution.weightedSum(tapWeights, tapSources, taps: taps, length: flatLength, into: flat, bias: bias[c])
                        for oy in 0..<out.height {
                            let row = flat + oy * s * paddedWidth
                            if s == 1 {
                                (y + oy * out.width).update(from: row, count: out.width)
                            } else {
                                for ox in 0..<out.width { y[oy * out.width + ox] = row[ox * s] }
                            }
                        }
                    }
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
