// BatchNorm2d's per-channel loops as ParallelKernel values (no allocation in a step),
// and the statistics and normalisation they share. Legend: M = H·W·N values per channel.

extension BatchNorm2d {
    /// Where one channel's normalisation reads and writes: x [C, M], y [C, M] (each a whole
    /// map or one slot per thread, ``ChannelMap``); γ, β, μ (as a Float plus the Float of its
    /// rounding error), 1/√(σ² + eps) [C].
    struct Normalize: Sendable {
        let x: ChannelMap, y: ChannelMap
        let count: Int
        let gamma: SendablePointer<Float>, beta: SendablePointer<Float>
        let mean: SendablePointer<Float>, meanLow: SendablePointer<Float>, invStd: SendablePointer<Float>
        let fused: Bool
    }

    /// Training forward: batch statistics per channel (saved for backward), running
    /// statistics updated with the unbiased variance, then y = normalised x.
    struct TrainingForward: ParallelKernel {
        let normalize: Normalize
        let runningMean: SendablePointer<Float>, runningVar: SendablePointer<Float>
        let eps: Double
        let momentum: Float

        func run(_ channels: Range<Int>) {
            let p = normalize, m = p.count
            for c in channels {
                let (mu, variance) = BatchNorm2d.meanAndBiasedVariance(p.x[channel: c], count: m)
                apply(channel: c, mean: mu, variance: variance, statisticsCount: Double(m))
            }
        }

        /// Saves channel `c`'s statistics for backward, updates its running statistics
        /// (unbiased variance over `statisticsCount` values) and writes its normalised output.
        @inline(__always)
        func apply(channel c: Int, mean mu: Double, variance: Double, statisticsCount count: Double) {
            let p = normalize, m = p.count
            let muFloat = Float(mu), muLow = Float(mu - Double(muFloat))
            let invStdC = Float(1 / (variance + eps).squareRoot())
            p.mean[c] = muFloat
            p.meanLow[c] = muLow
            p.invStd[c] = invStdC
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * muFloat
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(variance * count / (count - 1))
            BatchNorm2d.normalize(p.x[channel: c], into: p.y[channel: c], count: m, mean: muFloat, meanLow: muLow, invStd: invStdC,
                                  gamma: p.gamma[c], beta: p.beta[c], fused: p.fused)
        }
    }

    /// Eval forward: y = normalised x with the running statistics (`normalize.mean` points at them).
    struct EvalForward: ParallelKernel {
        let normalize: Normalize
        let runningVar: SendablePointer<Float>
        let eps: Float

        func run(_ channels: Range<Int>) {
            let p = normalize, m = p.count
            for c in channels {
                BatchNorm2d.normalize(p.x[channel: c], into: p.y[channel: c], count: m, mean: p.mean[c], meanLow: 0,
                                      invStd: 1 / (runningVar[c] + eps).squareRoot(), gamma: p.gamma[c], beta: p.beta[c],
                                      fused: p.fused)
            }
        }
    }

    /// The last training forward's output again, from its saved input and batch statistics
    /// (`normalize.mean` points at them): the same arithmetic, so the same bits. For a fused
    /// backward whose forward kept the output only in a per-thread slot (``ChannelMap``).
    struct Recompute: ParallelKernel {
        let normalize: Normalize

        func run(_ channels: Range<Int>) {
            let p = normalize, m = p.count
            for c in channels {
                BatchNorm2d.normalize(p.x[channel: c], into: p.y[channel: c], count: m, mean: p.mean[c], meanLow: p.meanLow[c],
                                      invStd: p.invStd[c], gamma: p.gamma[c], beta: p.beta[c], fused: p.fused)
            }
        }
    }

    /// Backward per channel (see ``BatchNorm2d/backward(_:)``): one reduction pass for Σdy'
    /// and Σdy'·x̂, one pass writing dx (a whole map, a slot per thread, or in place over
    /// dy or over x: each value is read before its gradient is stored).
    struct Backward: ParallelKernel {
        let x: ChannelMap, dy: SendablePointer<Float>, dx: ChannelMap
        let count: Int
        let gamma: SendablePointer<Float>, beta: SendablePointer<Float>
        let gradGamma: SendablePointer<Float>, gradBeta: SendablePointer<Float>
        let mean: SendablePointer<Float>, meanLow: SendablePointer<Float>, invStd: SendablePointer<Float>
        let fused: Bool

        func run(_ channels: Range<Int>) {
            for c in channels {
                let (sumDy, sumDyXHat) = gradientSums(channel: c)
                writeGradInput(channel: c, meanDy: Float(sumDy / Double(count)), meanDyXHat: Float(sumDyXHat / Double(count)))
            }
        }

        /// Σdy' and Σdy'·x̂ over channel `c`'s values, also accumulated into dγ and dβ.
        @inline(__always)
        func gradientSums(channel c: Int) -> (sumDy: Double, sumDyXHat: Double) {
            let xc = x[channel: c], dyc = dy.base + c * count
            let mu = mean[c], muLow = meanLow[c], inv = invStd[c], g = gamma[c], b = beta[c], fused = fused
            // x̂ and the pre-activation use exactly the forward's arithmetic, so the mask matches y.
            let (sumDy, sumDyXHat) = FloatLanes.sums(count) { i, lanes in
                let xHat = (FloatLanes.load(xc + i, lanes, pad: mu) - mu - muLow) * inv
                var d = FloatLanes.load(dyc + i, lanes)
                if fused { d = FloatLanes.keep(d, where: ReLU6.passesGradient(xHat * g + b)) }
                return (d, d * xHat)
            }
            gradGamma[c] += Float(sumDyXHat)
            gradBeta[c] += Float(sumDy)
            return (sumDy, sumDyXHat)
        }

        /// dx of channel `c` from the means of dy' and dy'·x̂ over the batch.
        ///
        /// Explicit vectors: dx is often dy's own map or x's (the fused backward works in
        /// place), and there LLVM's vectoriser finds the pointers overlapping and runs its
        /// scalar loop (measured: 17 ms of a 240 ms step when the depthwise BatchNorm's
        /// gradient was made to overwrite its input). Each lane does the scalar tail's
        /// operations in the same order, so the same bits either way; a vector's values
        /// are all read before its gradients are stored, so in place is exact.
        @inline(__always)
        func writeGradInput(channel c: Int, meanDy: Float, meanDyXHat: Float) {
            let m = count, width = FloatLanes.width
            let xc = x[channel: c], dyc = dy.base + c * m, dxc = dx[channel: c]
            let mu = mean[c], muLow = meanLow[c], inv = invStd[c], g = gamma[c], b = beta[c]
            let k = g * inv
            var i = 0
            if fused {
                while i + width <= m {
                    let xHat = (FloatLanes.load(xc + i) - mu - muLow) * inv
                    let d = FloatLanes.keep(FloatLanes.load(dyc + i), where: ReLU6.passesGradient(xHat * g + b))
                    FloatLanes.store(k * (d - meanDy - xHat * meanDyXHat), dxc + i)
                    i += width
                }
                while i < m {
                    let xHat = (xc[i] - mu - muLow) * inv
                    dxc[i] = k * ((ReLU6.passesGradient(xHat * g + b) ? dyc[i] : 0) - meanDy - xHat * meanDyXHat)
                    i += 1
                }
            } else {
                while i + width <= m {
                    let xHat = (FloatLanes.load(xc + i) - mu - muLow) * inv
                    FloatLanes.store(k * (FloatLanes.load(dyc + i) - meanDy - xHat * meanDyXHat), dxc + i)
                    i += width
                }
                while i < m {
                    dxc[i] = k * (dyc[i] - meanDy - (xc[i] - mu - muLow) * inv * meanDyXHat)
                    i += 1
                }
            }
        }
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
