// The depthwise convolution's SIMD kernels. Legend: N batch, C channels, H×W input,
// K kernel, s stride, p padding, F×G output. Layout C × H × W × N (Layout.swift): one
// channel's input is an H×W grid of contiguous N-vectors, so every tap is a scalar ×
// N-vector multiply-add at full SIMD width whatever the image size; taps that fall in
// the padding are skipped, never materialised (no im2col). The scalar twins that
// specify these kernels are DepthwiseConv2d.referenceForward / referenceBackward.

/// Fast depthwise kernels, parallel over channels (each channel is one thread's work,
/// so every reduction runs in a fixed order whatever the thread count).
enum DepthwiseKernels {
    /// The batch-vector width: 16 floats, one AVX-512 register (four SSE registers).
    typealias Vector = SIMD16<Float>
    static let width = Vector.scalarCount

    /// y = depthwise(x, w) over a range of channels: input [C, H, W, N], weight [C, 1, K, K], output [C, F, G, N].
    struct Forward: ParallelKernel {
        let x: SendablePointer<Float>, w: SendablePointer<Float>, y: SendablePointer<Float>
        let shape: FeatureShape
        let geometry: ConvGeometry

        func run(_ channels: Range<Int>) {
            let out = geometry.outputShape(shape, outChannels: shape.channels)
            let taps = geometry.kernelSize * geometry.kernelSize
            withTapLists(taps) { tapWeights, tapSources in
                for c in channels {
                    forwardChannel(x.base + c * shape.channelStride, w.base + c * taps,
                                   y.base + c * out.channelStride, shape, out, geometry, tapWeights, tapSources)
                }
            }
        }
    }

    /// Over a range of channels: gradInput = depthwiseᵀ(dY) (overwritten) and gradWeight += Σ dY ⊙ shifted x.
    struct Backward: ParallelKernel {
        let x: SendablePointer<Float>, w: SendablePointer<Float>
        let dy: SendablePointer<Float>, dx: SendablePointer<Float>, dw: SendablePointer<Float>
        let shape: FeatureShape
        let geometry: ConvGeometry

        func run(_ channels: Range<Int>) {
            let out = geometry.outputShape(shape, outChannels: shape.channels)
            let taps = geometry.kernelSize * geometry.kernelSize
            withTapLists(taps) { tapWeights, tapSources in
                withUnsafeTemporaryAllocation(of: Vector.self, capacity: taps) { vectorSums in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: taps) { scalarSums in
                        for c in channels {
                            let xc = x.base + c * shape.channelStride, dyc = dy.base + c * out.channelStride
                            // Weight gradient first: the channel's dY is then still in cache for dX.
                            weightGradientChannel(xc, dyc, dw.base + c * taps, shape, out, geometry,
                                                  vectorSums.baseAddress!, scalarSums.baseAddress!)
                            gradInputChannel(dyc, w.base + c * taps, dx.base + c * shape.channelStride,
                                             shape, out, geometry, tapWeights, tapSources)
                        }
                    }
                }
            }
        }
    }

    // MARK: - One channel

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

    /// Gather form of the transpose: dX[iy, ix, :] = Σ over (a, b, oy, ox) with
    /// oy·s − p + a = iy, ox·s − p + b = ix of w[a, b] · dY[oy, ox, :]. Each input vector is
    /// written once, so channels (and pixels) never race and no zeroing pass is needed.
    /// At stride 1 the interior columns of a row (every tap's output inside the map) run as
    /// one contiguous weighted sum, taps in the per-pixel order, as in ``forwardChannel``.
    @inline(__always)
    static func gradInputChannel(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                 _ shape: FeatureShape, _ out: FeatureShape, _ geometry: ConvGeometry,
                                 _ tapWeights: UnsafeMutablePointer<Float>,
                                 _ tapSources: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let n = shape.batch, k = geometry.kernelSize, p = geometry.padding
        // Interior input columns at stride 1: ix + p − (K − 1) ≥ 0 and ix + p < F'.
        let interior = geometry.stride == 1 ? (k - 1 - p) ..< max(k - 1 - p, min(shape.width, out.width - p)) : 0..<0
        /// The `inputs` consecutive input vectors of row `iy` from column `ix`, through the
        /// taps `rows` and `columns` that read them (``ConvGeometry/tapsReading(input:outputSize:)``).
        @inline(__always)
        func sum(row iy: Int, rows: (taps: StrideThrough<Int>, firstOutput: Int), column ix: Int,
                 columns: (taps: StrideThrough<Int>, firstOutput: Int), inputs: Int) {
            var count = 0
            var oy = rows.firstOutput
            for a in rows.taps {
                var ox = columns.firstOutput
                for b in columns.taps {
                    tapWeights[count] = w[a * k + b]
                    tapSources[count] = dy + (oy * out.width + ox) * n
                    count += 1
                    ox -= 1
                }
                oy -= 1
            }
            weightedSum(tapWeights, tapSources, taps: count, length: inputs * n, into: dx + (iy * shape.width + ix) * n)
        }
        for iy in 0..<shape.height {
            let rows = geometry.tapsReading(input: iy, outputSize: out.height)
            if !interior.isEmpty {
                // Every tap reads the run: taps 0…K−1, the first (b = 0) from output column ix + p.
                sum(row: iy, rows: rows, column: interior.lowerBound,
                    columns: (Swift.stride(from: 0, through: k - 1, by: 1), interior.lowerBound + p), inputs: interior.count)
            }
            for ix in 0..<shape.width where !interior.contains(ix) {
                sum(row: iy, rows: rows, column: ix, columns: geometry.tapsReading(input: ix, outputSize: out.width), inputs: 1)
            }
        }
    }

    /// dW[a, b] += Σ over outputs whose tap (a, b) is in the image of dY[oy, ox, :] · x[iy, ix, :]:
    /// K·K dot products of contiguous N-vectors, each summed in one fixed order. Output
    /// rows go outermost so the input and gradient rows a row needs stay in L1.
    @inline(__always)
    static func weightGradientChannel(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                                      _ shape: FeatureShape, _ out: FeatureShape, _ geometry: ConvGeometry,
                                      _ vectorSums: UnsafeMutablePointer<Vector>, _ scalarSums: UnsafeMutablePointer<Float>) {
        let n = shape.batch, k = geometry.kernelSize, s = geometry.stride, p = geometry.padding
        vectorSums.update(repeating: Vector(repeating: 0), count: k * k)
        scalarSums.update(repeating: 0, count: k * k)
        for oy in 0..<out.height {
            for a in geometry.validTaps(output: oy, inputSize: shape.height) {
                let dyRow = dy + oy * out.width * n
                let xRow = x + (oy * s - p + a) * shape.width * n
                if k == 3 {
                    accumulateKernelRow3(dyRow, xRow, outputWidth: out.width, inputWidth: shape.width, stride: s,
                                         padding: p, batch: n, vector: vectorSums + a * k, scalar: scalarSums + a * k)
                    continue
                }
                for b in 0..<k {
                    let columns = geometry.validOutputs(tap: b, inputSize: shape.width, outputSize: out.width)
                    guard let first = columns.first else { continue }
                    let t = a * k + b
                    accumulateDots(dyRow + first * n, xRow + (first * s - p + b) * n, rows: columns.count,
                                   strideA: n, strideB: s * n, length: n,
                                   vector: &vectorSums[t], scalar: &scalarSums[t])
                }
            }
        }
        for t in 0..<(k * k) { dw[t] += vectorSums[t].sum() + scalarSums[t] }
    }

    /// K = 3: dW[a, 0…2] (in `vector`, `scalar`, three entries each) += Σ over outputs ox of
    /// one output row of dY[oy, ox, :] · x[iy, ox·s − p + b, :], the row's three taps sharing
    /// each load of dY: four loads per three fused multiply-adds instead of six, and six
    /// independent accumulator chains (two per tap). Taps in the padding are skipped.
    @inline(__always)
    static func accumulateKernelRow3(_ dyRow: UnsafePointer<Float>, _ xRow: UnsafePointer<Float>,
                                     outputWidth: Int, inputWidth: Int, stride s: Int, padding p: Int, batch n: Int,
                                     vector: UnsafeMutablePointer<Vector>, scalar: UnsafeMutablePointer<Float>) {
        var a0 = vector[0], a1 = vector[1], a2 = vector[2]
        var b0 = Vector(repeating: 0), b1 = b0, b2 = b0
        var t0 = scalar[0], t1 = scalar[1], t2 = scalar[2]
        for ox in 0..<outputWidth {
            let ix = ox * s - p, d = dyRow + ox * n
            if ix >= 0 && ix + 2 < inputWidth {
                let x0 = xRow + ix * n, x1 = x0 + n, x2 = x1 + n
                var j = 0
                while j + 2 * width <= n {
                    let dv = load(d + j), dw = load(d + j + width)
                    a0.addProduct(dv, load(x0 + j))
                    b0.addProduct(dw, load(x0 + j + width))
                    a1.addProduct(dv, load(x1 + j))
                    b1.addProduct(dw, load(x1 + j + width))
                    a2.addProduct(dv, load(x2 + j))
                    b2.addProduct(dw, load(x2 + j + width))
                    j += 2 * width
                }
                if j + width <= n {
                    let dv = load(d + j)
                    a0.addProduct(dv, load(x0 + j))
                    a1.addProduct(dv, load(x1 + j))
                    a2.addProduct(dv, load(x2 + j))
                    j += width
                }
                while j < n {
                    t0.addProduct(d[j], x0[j])
                    t1.addProduct(d[j], x1[j])
                    t2.addProduct(d[j], x2[j])
                    j += 1
                }
            } else {
                // At the image's edge: each tap that reads inside the row, alone.
                if ix >= 0 && ix < inputWidth {
                    accumulateDots(d, xRow + ix * n, rows: 1, strideA: 0, strideB: 0, length: n, vector: &a0, scalar: &t0)
                }
                if ix + 1 >= 0 && ix + 1 < inputWidth {
                    accumulateDots(d, xRow + (ix + 1) * n, rows: 1, strideA: 0, strideB: 0, length: n, vector: &a1, scalar: &t1)
                }
                if ix + 2 >= 0 && ix + 2 < inputWidth {
                    accumulateDots(d, xRow + (ix + 2) * n, rows: 1, strideA: 0, strideB: 0, length: n, vector: &a2, scalar: &t2)
                }
            }
        }
        vector[0] = a0 + b0
        vector[1] = a1 + b1
        vector[2] = a2 + b2
        scalar[0] = t0
        scalar[1] = t1
        scalar[2] = t2
    }

    // MARK: - Vector primitives

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

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
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
                s0.addProduct(wt, load(src))
                s1.addProduct(wt, load(src + width))
                s2.addProduct(wt, load(src + 2 * width))
                s3.addProduct(wt, load(src + 3 * width))
            }
            store(epilogue(s0, bias), dst + i)
            store(epilogue(s1, bias), dst + i + width)
            store(epilogue(s2, bias), dst + i + 2 * width)
            store(epilogue(s3, bias), dst + i + 3 * width)
            i += 4 * width
        }
        // Fewer than four vectors left: two, then one (a lone chain of dependent FMAs runs
        // at the FMA's latency, so the longer rest gets two chains).
        if i + 2 * width <= length {
            var s0 = Vector(repeating: 0), s1 = s0
            for t in 0..<taps {
                let wt = Vector(repeating: weights[t]), src = sources[t] + i
                s0.addProduct(wt, load(src))
                s1.addProduct(wt, load(src + width))
            }
            store(epilogue(s0, bias), dst + i)
            store(epilogue(s1, bias), dst + i + width)
            i += 2 * width
        }
        if i + width <= length {
            var sum = Vector(repeating: 0)
            for t in 0..<taps { sum.addProduct(Vector(repeating: weights[t]), load(sources[t] + i)) }
            store(epilogue(sum, bias), dst + i)
            i += width
        }
        let tail = i
        if i < length && length >= width {
            // The last partial vector as the full vector ending at `length`: the lanes it
            // shares with the vector before get the same operations, so the same values.
            i = length - width
            var sum = Vector(repeating: 0)
            for t in 0..<taps { sum.addProduct(Vector(repeating: weights[t]), load(sources[t] + i)) }
            store(epilogue(sum, bias), dst + i)
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

    /// vector += lanes of Σ_r a_r[0..<length] ⊙ b_r[0..<length] over `rows` pairs of rows
    /// a_r = a + r·strideA, b_r = b + r·strideB (the outputs of one image row and the
    /// inputs one tap reads for them), with fused multiply-adds into four interleaved
    /// partial sums that run across the rows (a dot is a chain of dependent adds; four
    /// chains keep the FMA units busy); the remainder past each row's last full vector
    /// goes to `scalar`.
    @inline(__always)
    static func accumulateDots(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, rows: Int,
                               strideA: Int, strideB: Int, length: Int,
                               vector: inout Vector, scalar: inout Float) {
        var sum0 = vector, sum1 = Vector(repeating: 0), sum2 = Vector(repeating: 0), sum3 = Vector(repeating: 0)
        var tail = scalar
        for r in 0..<rows {
            let ar = a + r * strideA, br = b + r * strideB
            var i = 0
            while i + 4 * width <= length {
                sum0.addProduct(load(ar + i), load(br + i))
                sum1.addProduct(load(ar + i + width), load(br + i + width))
                sum2.addProduct(load(ar + i + 2 * width), load(br + i + 2 * width))
                sum3.addProduct(load(ar + i + 3 * width), load(br + i + 3 * width))
                i += 4 * width
            }
            while i + width <= length {
                sum0.addProduct(load(ar + i), load(br + i))
                i += width
            }
            while i < length {
                tail.addProduct(ar[i], br[i])
                i += 1
            }
        }
        vector = (sum0 + sum1) + (sum2 + sum3)
        scalar = tail
    }
}
