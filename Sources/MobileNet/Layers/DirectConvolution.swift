// Direct convolution on the batch-vector layout, the forward kernel shared by the depthwise
// convolution and by folded inference's dense entry convolution. Legend: N batch, C
// channels, H×W input, K kernel, s stride, p padding, F×G output. Layout C × H × W × N
// (Layout.swift): one channel's input is an H×W grid of contiguous N-vectors, so every tap
// is a scalar × N-vector multiply-add at full SIMD width whatever the image size; taps that
// fall in the padding are skipped, never materialised (no im2col). Scalar twins:
// DepthwiseConv2d.referenceForward (one input channel) and Conv2d's im2col + GEMM path
// (several; the folded model's tests compare the two).

/// One output channel of a K×K convolution computed directly as weighted sums of shifted
/// batch vectors: over one input channel (the depthwise convolution, ``DepthwiseKernels``)
/// or over several (a dense convolution: folded inference's entry Conv2d).
enum DirectConvolution {
    typealias Vector = FloatLanes.Vector
    static let width = Vector.scalarCount

    /// Each output vector y[oy, ox, :] = Σ over in-image taps w[a, b] · x[oy·s − p + a, ox·s − p + b, :],
    /// or, with `outputBias` b, min(max(that sum + b, 0), 6) (folded inference: the
    /// BatchNorm's bias and ReLU6 applied as the sum is stored, no second pass).
    ///
    /// At stride 1 the outputs of a row whose taps all fall inside the image (the interior
    /// columns) are one contiguous run of the row, and so is what each tap reads for them:
    /// they are computed as a single weighted sum over (interior columns)·N floats, full
    /// SIMD width whatever N, with the taps in the same order (same roundings) as the
    /// per-pixel path the edge columns take. With `inputChannels` i > 1 it is one output
    /// channel of a dense convolution: the taps of input channels 0..<i (maps
    /// `shape.channelStride` apart from `x`, weights [i, K, K] at `w`) summed in order
    /// (tap lists must hold i·K·K entries).
    @inline(__always)
    static func forwardChannel(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               _ shape: FeatureShape, _ out: FeatureShape, _ geometry: ConvGeometry,
                               _ tapWeights: UnsafeMutablePointer<Float>,
                               _ tapSources: UnsafeMutablePointer<UnsafePointer<Float>>,
                               outputBias: Float? = nil, inputChannels: Int = 1) {
        let n = shape.batch, k = geometry.kernelSize, s = geometry.stride, p = geometry.padding
        // Interior columns at stride 1: 0 ≤ ox − p and ox − p + K − 1 < W.
        let interior = s == 1 ? p ..< max(p, min(out.width, shape.width - k + p + 1)) : 0..<0
        /// The `outputs` consecutive outputs of row `oy` from column `ox`, through kernel
        /// rows `rows` and columns `columns` (the taps inside the image for all of them).
        @inline(__always)
        func sum(row oy: Int, rows: Range<Int>, column ox: Int, columns: Range<Int>, outputs: Int) {
            var count = 0
            for i in 0..<inputChannels {
                for a in rows {
                    for b in columns {
                        tapWeights[count] = w[(i * k + a) * k + b]
                        tapSources[count] = x + i * shape.channelStride + ((oy * s - p + a) * shape.width + ox * s - p + b) * n
                        count += 1
                    }
                }
            }
            weightedSum(tapWeights, tapSources, taps: count, length: outputs * n, into: y + (oy * out.width + ox) * n,
                        bias: outputBias)
        }
        for oy in 0..<out.height {
            let rows = geometry.validTaps(output: oy, inputSize: shape.height)
            if !interior.isEmpty {
                sum(row: oy, rows: rows, column: interior.lowerBound, columns: 0..<k, outputs: interior.count)
            }
            for ox in 0..<out.width where !interior.contains(ox) {
                sum(row: oy, rows: rows, column: ox, columns: geometry.validTaps(output: ox, inputSize: shape.width), outputs: 1)
            }
        }
    }

    /// Runs `body` with two scratch lists of `taps` entries (stack memory, no heap allocation).
    @inline(__always)
    static func withTapLists(_ taps: Int,
                             _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<UnsafePointer<Float>>) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: taps) { weights in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: taps) { sources in
                body(weights.baseAddress!, sources.baseAddress!)
            }
        }
    }

    /// min(max(v + bias, 0), 6) per lane when `bias` is given (NaN stays NaN, as
    /// ``ReLU6/clamp(_:)``), else v unchanged.
    @inline(__always)
    static func epilogue(_ v: Vector, _ bias: Float?) -> Vector {
        guard let bias else { return v }
        let u = v + Vector(repeating: bias)
        return u.replacing(with: 0, where: u .< 0).replacing(with: 6, where: u .> 6)
    }

    /// dst[0..<length] = Σ_t weights[t] · sources[t][0..<length], taps summed in list order
    /// with fused multiply-adds, then ``epilogue(_:_:)`` with `bias`. Four vectors (64
    /// floats) per pass over the taps, four independent accumulator chains; the runs are
    /// memory-bound, and four measured as fast as eight (`mobilenet-bench depthwise`:
    /// backward 11.2 against 12.1 ms, batch 128, 2 threads) with half the registers. A
    /// length past a multiple of 16 ends with an overlapping vector, not scalars. `dst`
    /// must not overlap the sources.
    @inline(__always)
    static func weightedSum(_ weights: UnsafePointer<Float>, _ sources: UnsafePointer<UnsafePointer<Float>>,
                            taps: Int, length: Int, into dst: UnsafeMutablePointer<Float>, bias: Float? = nil) {
        var i = 0
        // Four vectors per pass over the taps: four independent FMA chains, each tap's
        // weight and source read once per four vectors.
        while i + 4 * width <= length {
            var s0 = Vector(repeating: 0), s1 = s0, s2 = s0, s3 = s0
            for t in 0..<taps {
                let wt = Vector(repeating: weights[t]), src = sources[t] + i
                s0.addProduct(wt, FloatLanes.load(src))
                s1.addProduct(wt, FloatLanes.load(src + width))
                s2.addProduct(wt, FloatLanes.load(src + 2 * width))
                s3.addProduct(wt, FloatLanes.load(src + 3 * width))
            }
            FloatLanes.store(epilogue(s0, bias), dst + i)
            FloatLanes.store(epilogue(s1, bias), dst + i + width)
            FloatLanes.store(epilogue(s2, bias), dst + i + 2 * width)
            FloatLanes.store(epilogue(s3, bias), dst + i + 3 * width)
            i += 4 * width
        }
        // Fewer than four vectors left: two, then one (a lone chain of dependent FMAs runs
        // at the FMA's latency, so the longer rest gets two chains).
        if i + 2 * width <= length {
            var s0 = Vector(repeating: 0), s1 = s0
            for t in 0..<taps {
                let wt = Vector(repeating: weights[t]), src = sources[t] + i
                s0.addProduct(wt, FloatLanes.load(src))
                s1.addProduct(wt, FloatLanes.load(src + width))
            }
            FloatLanes.store(epilogue(s0, bias), dst + i)
            FloatLanes.store(epilogue(s1, bias), dst + i + width)
            i += 2 * width
        }
        if i + width <= length {
            var sum = Vector(repeating: 0)
            for t in 0..<taps { sum.addProduct(Vector(repeating: weights[t]), FloatLanes.load(sources[t] + i)) }
            FloatLanes.store(epilogue(sum, bias), dst + i)
            i += width
        }
        let tail = i
        if i < length && length >= width {
            // The last partial vector as the full vector ending at `length`: the lanes it
            // shares with the vector before get the same operations, so the same values.
            i = length - width
            var sum = Vector(repeating: 0)
            for t in 0..<taps { sum.addProduct(Vector(repeating: weights[t]), FloatLanes.load(sources[t] + i)) }
            FloatLanes.store(epilogue(sum, bias), dst + i)
            return
        }
        while i < length {
            var sum: Float = 0
            for t in 0..<taps { sum.addProduct(weights[t], sources[t][i]) }
            dst[i] = sum
            i += 1
        }
        if let bias, i > tail {
            for j in tail..<length { dst[j] = ReLU6.clamp(dst[j] + bias) }
        }
    }
}
