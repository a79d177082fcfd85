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

    /// Each output vector y[oy, ox, :] = Σ over in-image taps w[a, b] · x[oy·s − p + a, ox·s − p + b, :].
    @inline(__always)
    static func forwardChannel(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               _ shape: FeatureShape, _ out: FeatureShape, _ geometry: ConvGeometry,
                               _ tapWeights: UnsafeMutablePointer<Float>,
                               _ tapSources: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let n = shape.batch, k = geometry.kernelSize, s = geometry.stride, p = geometry.padding
        for oy in 0..<out.height {
            let rows = geometry.validTaps(output: oy, inputSize: shape.height)
            for ox in 0..<out.width {
                let columns = geometry.validTaps(output: ox, inputSize: shape.width)
                var count = 0
                for a in rows {
                    for b in columns {
                        tapWeights[count] = w[a * k + b]
                        tapSources[count] = x + ((oy * s - p + a) * shape.width + ox * s - p + b) * n
                        count += 1
                    }
                }
                weightedSum(tapWeights, tapSources, taps: count, length: n, into: y + (oy * out.width + ox) * n)
            }
        }
    }

    /// Gather form of the transpose: dX[iy, ix, :] = Σ over (a, b, oy, ox) with
    /// oy·s − p + a = iy, ox·s − p + b = ix of w[a, b] · dY[oy, ox, :]. Each input vector is
    /// written once, so channels (and pixels) never race and no zeroing pass is needed.
    @inline(__always)
    static func gradInputChannel(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                 _ shape: FeatureShape, _ out: FeatureShape, _ geometry: ConvGeometry,
                                 _ tapWeights: UnsafeMutablePointer<Float>,
                                 _ tapSources: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let n = shape.batch, k = geometry.kernelSize
        for iy in 0..<shape.height {
            let rows = geometry.tapsReading(input: iy, outputSize: out.height)
            for ix in 0..<shape.width {
                let columns = geometry.tapsReading(input: ix, outputSize: out.width)
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
                weightedSum(tapWeights, tapSources, taps: count, length: n, into: dx + (iy * shape.width + ix) * n)
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
                for b in 0..<k {
                    let columns = geometry.validOutputs(tap: b, inputSize: shape.width, outputSize: out.width)
                    guard let first = columns.first else { continue }
                    let t = a * k + b
                    let dyStart = dyRow + first * n, xStart = xRow + (first * s - p + b) * n
                    if s == 1 {
                        // Consecutive outputs read consecutive inputs: one dot over the whole run.
                        accumulateDot(dyStart, xStart, length: columns.count * n,
                                      vector: &vectorSums[t], scalar: &scalarSums[t])
                    } else {
                        for i in 0..<columns.count {
                            accumulateDot(dyStart + i * n, xStart + i * s * n, length: n,
                                          vector: &vectorSums[t], scalar: &scalarSums[t])
                        }
                    }
                }
            }
        }
        for t in 0..<(k * k) { dw[t] += vectorSums[t].sum() + scalarSums[t] }
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

    /// dst[0..<length] = Σ_t weights[t] · sources[t][0..<length], taps summed in list order
    /// (plain multiply then add, no fused multiply-add, like the scalar twin).
    @inline(__always)
    static func weightedSum(_ weights: UnsafePointer<Float>, _ sources: UnsafePointer<UnsafePointer<Float>>,
                            taps: Int, length: Int, into dst: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 2 * width <= length {
            var sum0 = Vector(repeating: 0), sum1 = Vector(repeating: 0)
            for t in 0..<taps {
                let wt = Vector(repeating: weights[t])
                sum0 += wt * load(sources[t] + i)
                sum1 += wt * load(sources[t] + i + width)
            }
            store(sum0, dst + i)
            store(sum1, dst + i + width)
            i += 2 * width
        }
        if i + width <= length {
            var sum = Vector(repeating: 0)
            for t in 0..<taps { sum += Vector(repeating: weights[t]) * load(sources[t] + i) }
            store(sum, dst + i)
            i += width
        }
        while i < length {
            var sum: Float = 0
            for t in 0..<taps { sum += weights[t] * sources[t][i] }
            dst[i] = sum
            i += 1
        }
    }

    /// vector += lanes of a[0..<length] ⊙ b[0..<length] (four interleaved partial sums: a
    /// long dot is a chain of dependent adds, and four chains keep the multiply-add units
    /// busy); the remainder past the last full vector goes to `scalar`.
    @inline(__always)
    static func accumulateDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, length: Int,
                              vector: inout Vector, scalar: inout Float) {
        var i = 0
        var sum0 = vector, sum1 = Vector(repeating: 0), sum2 = Vector(repeating: 0), sum3 = Vector(repeating: 0)
        while i + 4 * width <= length {
            sum0 += load(a + i) * load(b + i)
            sum1 += load(a + i + width) * load(b + i + width)
            sum2 += load(a + i + 2 * width) * load(b + i + 2 * width)
            sum3 += load(a + i + 3 * width) * load(b + i + 3 * width)
            i += 4 * width
        }
        while i + width <= length {
            sum0 += load(a + i) * load(b + i)
            i += width
        }
        vector = (sum0 + sum1) + (sum2 + sum3)
        var tail = scalar
        while i < length {
            tail += a[i] * b[i]
            i += 1
        }
        scalar = tail
    }
}
