// The depthwise convolution's SIMD kernels. Legend: N batch, C channels, H×W input,
// K kernel, s stride, p padding, F×G output. Layout C × H × W × N (Layout.swift): one
// channel's input is an H×W grid of contiguous N-vectors, so every tap is a scalar ×
// N-vector multiply-add at full SIMD width whatever the image size; taps that fall in
// the padding are skipped, never materialised (no im2col); the forward pass is
// ``DirectConvolution`` over one input channel. The scalar twins that
// specify these kernels are DepthwiseConv2d.referenceForward / referenceBackward.

/// Fast depthwise kernels, parallel over channels (each channel is one thread's work,
/// so every reduction runs in a fixed order whatever the thread count).
enum DepthwiseKernels {
    /// The batch vector (``FloatLanes``): 16 floats, one AVX-512 register (four SSE registers).
    typealias Vector = FloatLanes.Vector
    static let width = Vector.scalarCount

    /// y = depthwise(x, w) over a range of channels: input [C, H, W, N], weight [C, 1, K, K],
    /// output [C, F, G, N]; input and output each a whole map or a slot per thread (``ChannelMap``).
    struct Forward: ParallelKernel {
        let x: ChannelMap, w: SendablePointer<Float>, y: ChannelMap
        let shape: FeatureShape
        let geometry: ConvGeometry

        func run(_ channels: Range<Int>) {
            let out = geometry.outputShape(shape, outChannels: shape.channels)
            let taps = geometry.kernelSize * geometry.kernelSize
            DirectConvolution.withTapLists(taps) { tapWeights, tapSources in
                for c in channels {
                    DirectConvolution.forwardChannel(x[channel: c], w.base + c * taps,
                                   y[channel: c], shape, out, geometry, tapWeights, tapSources)
                }
            }
        }
    }

    /// Over a range of channels: gradInput = depthwiseᵀ(dY) (overwritten) and gradWeight += Σ dY ⊙ shifted x;
    /// x and dY each a whole map or a slot per thread (``ChannelMap``).
    struct Backward: ParallelKernel {
        let x: ChannelMap, w: SendablePointer<Float>
        let dy: ChannelMap, dx: SendablePointer<Float>, dw: SendablePointer<Float>
        let shape: FeatureShape
        let geometry: ConvGeometry

        func run(_ channels: Range<Int>) {
            let out = geometry.outputShape(shape, outChannels: shape.channels)
            let taps = geometry.kernelSize * geometry.kernelSize
            DirectConvolution.withTapLists(taps) { tapWeights, tapSources in
                withUnsafeTemporaryAllocation(of: Vector.self, capacity: taps) { vectorSums in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: taps) { scalarSums in
                        for c in channels {
                            let xc = x[channel: c], dyc = dy[channel: c]
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

    /// Gather form of the transpose: dX[iy, ix, :] = Σ over (a, b, oy, ox) with
    /// oy·s − p + a = iy, ox·s − p + b = ix of w[a, b] · dY[oy, ox, :]. Each input vector is
    /// written once, so channels (and pixels) never race and no zeroing pass is needed.
    /// At stride 1 the interior columns of a row (every tap's output inside the map) run as
    /// one contiguous weighted sum, taps in the per-pixel order, as in ``DirectConvolution/forwardChannel``.
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
            DirectConvolution.weightedSum(tapWeights, tapSources, taps: count, length: inputs * n, into: dx + (iy * shape.width + ix) * n)
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
                    let dv = FloatLanes.load(d + j), dw = FloatLanes.load(d + j + width)
                    a0.addProduct(dv, FloatLanes.load(x0 + j))
                    b0.addProduct(dw, FloatLanes.load(x0 + j + width))
                    a1.addProduct(dv, FloatLanes.load(x1 + j))
                    b1.addProduct(dw, FloatLanes.load(x1 + j + width))
                    a2.addProduct(dv, FloatLanes.load(x2 + j))
                    b2.addProduct(dw, FloatLanes.load(x2 + j + width))
                    j += 2 * width
                }
                if j + width <= n {
                    let dv = FloatLanes.load(d + j)
                    a0.addProduct(dv, FloatLanes.load(x0 + j))
                    a1.addProduct(dv, FloatLanes.load(x1 + j))
                    a2.addProduct(dv, FloatLanes.load(x2 + j))
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
                sum0.addProduct(FloatLanes.load(ar + i), FloatLanes.load(br + i))
                sum1.addProduct(FloatLanes.load(ar + i + width), FloatLanes.load(br + i + width))
                sum2.addProduct(FloatLanes.load(ar + i + 2 * width), FloatLanes.load(br + i + 2 * width))
                sum3.addProduct(FloatLanes.load(ar + i + 3 * width), FloatLanes.load(br + i + 3 * width))
                i += 4 * width
            }
            while i + width <= length {
                sum0.addProduct(FloatLanes.load(ar + i), FloatLanes.load(br + i))
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
