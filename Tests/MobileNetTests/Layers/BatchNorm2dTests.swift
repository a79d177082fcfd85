import Testing
@testable import MobileNet

/// BatchNorm2d has no standalone golden case (it is checked inside `entry`/`dsc_*`), so
/// these tests use finite differences and hand computations in Double.
@Suite struct BatchNorm2dTests {
    /// Per-channel mean, biased and unbiased variance in Double, from an engine-layout map.
    static func statistics(_ map: FeatureMap) -> [(mean: Double, biased: Double, unbiased: Double)] {
        let m = map.shape.channelStride
        return (0..<map.shape.channels).map { c in
            let values = (0..<m).map { Double(map.data[c * m + $0]) }
            let mean = values.reduce(0, +) / Double(m)
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            return (mean, squares / Double(m), squares / Double(m - 1))
        }
    }

    /// y = γ·(x − mean)/√(var + eps) + β in Double, engine layout, optionally clamped to [0, 6].
    static func normalized(_ map: FeatureMap, mean: [Double], variance: [Double], bn: BatchNorm2d, clamp: Bool) -> [Float] {
        let m = map.shape.channelStride
        return (0..<map.shape.count).map { i in
            let c = i / m
            let y = Double(bn.weight.value.data[c]) * (Double(map.data[i]) - mean[c]) / (variance[c] + Double(bn.eps)).squareRoot()
                + Double(bn.bias.value.data[c])
            return Float(clamp ? min(max(y, 0), 6) : y)
        }
    }

    static func randomMap(_ shape: FeatureShape, _ rng: inout TestRNG, _ lo: Float = -1, _ hi: Float = 1) -> FeatureMap {
        let map = FeatureMap(shape: shape)
        for i in 0..<shape.count { map.data[i] = rng.uniform(lo, hi) }
        return map
    }

    /// L = Σ y·dY in Double: the loss whose gradients the layer tests check.
    static func dot(_ y: FeatureMap, _ gradOutput: FeatureMap) -> Double {
        (0..<y.shape.count).reduce(0.0) { $0 + Double(y.data[$1]) * Double(gradOutput.data[$1]) }
    }

    static func expectGradientsMatchFiniteDifferences(_ bn: BatchNorm2d, _ input: FeatureMap, _ gradOutput: FeatureMap,
                                                      sourceLocation: SourceLocation = #_sourceLocation) {
        bn.weight.zeroGrad()
        bn.bias.zeroGrad()
        _ = bn.forward(input, training: true)
        let gradInput = Array(bn.backward(gradOutput).buffer)
        let loss = { dot(bn.forward(input, training: true), gradOutput) }
        expectGradientMatchesFiniteDifferences(values: input.data, count: input.shape.count, analytic: gradInput,
                                               "input", sourceLocation: sourceLocation, loss: loss)
        expectGradientMatchesFiniteDifferences(values: bn.weight.value.data, count: bn.numFeatures, analytic: bn.weight.grad.array,
                                               "weight", sourceLocation: sourceLocation, loss: loss)
        expectGradientMatchesFiniteDifferences(values: bn.bias.value.data, count: bn.numFeatures, analytic: bn.bias.grad.array,
                                               "bias", sourceLocation: sourceLocation, loss: loss)
    }

    @Test func gradientsMatchFiniteDifferences() {
        var rng = TestRNG(seed: 11)
        // 3×3 images, batch 5: 45 values per channel, not a multiple of the 16-lane vector.
        let shape = FeatureShape(channels: 3, height: 3, width: 3, batch: 5)
        let input = Self.randomMap(shape, &rng, -2, 3)
        let gradOutput = Self.randomMap(shape, &rng)
        let bn = BatchNorm2d(numFeatures: 3)
        for c in 0..<3 {
            bn.weight.value.data[c] = rng.uniform(0.5, 1.5)
            bn.bias.value.data[c] = rng.uniform(-0.5, 0.5)
        }
        Self.expectGradientsMatchFiniteDifferences(bn, input, gradOutput)
    }

    @Test func fusedReLU6GradientsMatchFiniteDifferences() {
        var rng = TestRNG(seed: 12)
        let shape = FeatureShape(channels: 3, height: 3, width: 3, batch: 5)
        let m = shape.channelStride
        // Each channel holds the levels −2…2 nine times each (mean 0, std √2) plus small
        // noise, so with γ ≈ 3, β ≈ 2.5 the pre-activations sit near −1.7, 0.4, 2.5, 4.6
        // and 6.7: some clamped at 0, some at 6, none within the finite-difference step of a kink.
        let input = FeatureMap(shape: shape)
        for c in 0..<3 {
            for i in 0..<m { input.data[c * m + i] = Float((3 * i + c) % 5 - 2) + rng.uniform(-0.05, 0.05) }
        }
        let gradOutput = Self.randomMap(shape, &rng)
        let bn = BatchNorm2d(numFeatures: 3, fusedReLU6: true)
        for c in 0..<3 {
            bn.weight.value.data[c] = rng.uniform(2.9, 3.1)
            bn.bias.value.data[c] = rng.uniform(2.45, 2.55)
        }
        let stats = Self.statistics(input)
        let pre = Self.normalized(input, mean: stats.map(\.mean), variance: stats.map(\.biased), bn: bn, clamp: false)
        let margin = pre.map { min(abs($0), abs($0 - 6)) }.min()!
        #expect(margin > 0.2, "test data: a pre-activation lies within \(margin) of a ReLU6 kink")
        #expect(pre.contains { $0 < 0 } && pre.contains { $0 > 6 }, "test data: both clamps should be exercised")
        Self.expectGradientsMatchFiniteDifferences(bn, input, gradOutput)
    }

    @Test func runningStatisticsFollowTwoTrainingForwards() {
        var rng = TestRNG(seed: 13)
        let shape = FeatureShape(channels: 2, height: 2, width: 3, batch: 4)
        let bn = BatchNorm2d(numFeatures: 2)
        bn.weight.value.data[1] = 1.5
        bn.bias.value.data[0] = -0.25
        var runningMean = [0.0, 0.0], runningVar = [1.0, 1.0]
        for step in 1...2 {
            let input = Self.randomMap(shape, &rng, Float(step), Float(3 * step))
            let output = Array(bn.forward(input, training: true).buffer)
            let stats = Self.statistics(input)
            // Output normalised with the biased variance; running_var updated with the unbiased one.
            expectAllClose(output, Self.normalized(input, mean: stats.map(\.mean), variance: stats.map(\.biased), bn: bn, clamp: false),
                           "output after \(step)")
            runningMean = zip(runningMean, stats).map { 0.9 * $0 + 0.1 * $1.mean }
            runningVar = zip(runningVar, stats).map { 0.9 * $0 + 0.1 * $1.unbiased }
            expectAllClose(bn.runningMean.array, runningMean.map(Float.init), "running_mean after \(step)")
            expectAllClose(bn.runningVar.array, runningVar.map(Float.init), "running_var after \(step)")
            #expect(bn.numBatchesTracked.value == Int64(step))
        }
        #expect(bn.buffers.map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
        #expect(bn.parameters.map(\.name) == ["weight", "bias"])
    }

    @Test(arguments: [false, true])
    func evalModeNormalisesWithRunningStatistics(fused: Bool) {
        var rng = TestRNG(seed: 14)
        let shape = FeatureShape(channels: 3, height: 4, width: 2, batch: 3)
        let bn = BatchNorm2d(numFeatures: 3, fusedReLU6: fused)
        for c in 0..<3 {
            bn.runningMean.data[c] = rng.uniform(-1, 1)
            bn.runningVar.data[c] = rng.uniform(0.05, 0.5)
            bn.weight.value.data[c] = rng.uniform(0.5, 2)
            bn.bias.value.data[c] = rng.uniform(0, 4)
        }
        let savedMean = bn.runningMean.array, savedVar = bn.runningVar.array
        let input = Self.randomMap(shape, &rng, -2, 2)
        let output = Array(bn.forward(input, training: false).buffer)
        let expected = Self.normalized(input, mean: savedMean.map(Double.init), variance: savedVar.map(Double.init), bn: bn, clamp: fused)
        expectAllClose(output, expected, "eval output")
        if fused { #expect(output.contains(0) && output.contains(6), "test data should reach both clamps") }
        #expect(bn.runningMean.array == savedMean && bn.runningVar.array == savedVar && bn.numBatchesTracked.value == 0,
                "eval mode must not touch the running statistics")
    }

    @Test func statisticsStayAccurateForLargeOffsets() {
        var rng = TestRNG(seed: 15)
        // 1,575 values per channel (two 1,024-value blocks with different means, ragged tail),
        // mean ≈ 1000, std ≈ 0.4: a one-pass Σx² − (Σx)² in float32 would lose every digit of
        // the variance.
        let shape = FeatureShape(channels: 2, height: 15, width: 15, batch: 7)
        let m = shape.channelStride
        let input = FeatureMap(shape: shape)
        for i in 0..<shape.count { input.data[i] = 999.5 + Float(i % m) / Float(m) + rng.uniform(-0.5, 0.5) }
        let bn = BatchNorm2d(numFeatures: 2, momentum: 1)
        let output = Array(bn.forward(input, training: true).buffer)
        let stats = Self.statistics(input)
        expectAllClose(output, Self.normalized(input, mean: stats.map(\.mean), variance: stats.map(\.biased), bn: bn, clamp: false))
        expectAllClose(bn.runningMean.array, stats.map { Float($0.mean) }, "mean")
        expectAllClose(bn.runningVar.array, stats.map { Float($0.unbiased) }, "unbiased variance")
    }

    @Test func fusedBackwardMatchesDoubleReferenceAcrossBlocks() {
        var rng = TestRNG(seed: 17)
        // 1,575 values per channel: two reduction blocks and a ragged tail, where the
        // finite-difference shapes above use one block.
        let shape = FeatureShape(channels: 2, height: 15, width: 15, batch: 7)
        let m = shape.channelStride
        let input = Self.randomMap(shape, &rng, -1, 2)
        let gradOutput = Self.randomMap(shape, &rng)
        let bn = BatchNorm2d(numFeatures: 2, fusedReLU6: true)
        bn.weight.value.data[0] = 2.5
        bn.bias.value.data[1] = 3
        _ = bn.forward(input, training: true)
        let gradInput = Array(bn.backward(gradOutput).buffer)
        // dx = γ·invstd/M·(M·dy' − Σdy' − x̂·Σ(dy'·x̂)) with dy' = dy where 0 < γ·x̂ + β < 6.
        var expected = [Float](repeating: 0, count: shape.count)
        var gradGamma: [Float] = [], gradBeta: [Float] = []
        for (c, stat) in Self.statistics(input).enumerated() {
            let invStd = 1 / (stat.biased + Double(bn.eps)).squareRoot()
            let gamma = Double(bn.weight.value.data[c]), beta = Double(bn.bias.value.data[c])
            let xHat = (0..<m).map { (Double(input.data[c * m + $0]) - stat.mean) * invStd }
            let dy = (0..<m).map { i in
                (0 < gamma * xHat[i] + beta && gamma * xHat[i] + beta < 6) ? Double(gradOutput.data[c * m + i]) : 0
            }
            let sumDy = dy.reduce(0, +), sumDyXHat = zip(dy, xHat).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<m {
                expected[c * m + i] = Float(gamma * invStd / Double(m) * (Double(m) * dy[i] - sumDy - xHat[i] * sumDyXHat))
            }
            gradGamma.append(Float(sumDyXHat))
            gradBeta.append(Float(sumDy))
        }
        expectAllClose(gradInput, expected, "grad.input")
        expectAllClose(bn.weight.grad.array, gradGamma, "grad.weight")
        expectAllClose(bn.bias.grad.array, gradBeta, "grad.bias")
    }

    @Test func resultsAreBitwiseIdenticalAcrossThreadCounts() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var rng = TestRNG(seed: 16)
        let shape = FeatureShape(channels: 5, height: 8, width: 8, batch: 6)
        let input = Self.randomMap(shape, &rng, -1, 3)
        let gradOutput = Self.randomMap(shape, &rng)
        func run(threads: Int) -> [[UInt32]] {
            Parallel.threadCount = threads
            let bn = BatchNorm2d(numFeatures: 5, fusedReLU6: true)
            for c in 0..<5 { bn.weight.value.data[c] = 2 + Float(c) / 4 }
            let output = Array(bn.forward(input, training: true).buffer)
            let gradInput = Array(bn.backward(gradOutput).buffer)
            return [output, gradInput, bn.weight.grad.array, bn.bias.grad.array, bn.runningMean.array, bn.runningVar.array]
                .map { $0.map(\.bitPattern) }
        }
        let one = run(threads: 1), two = run(threads: 2)
        #expect(one == two)
    }

    /// The message goes through fatalError, which release builds print too ("Fatal error: …");
    /// a precondition's message ("Precondition failed: …") is dropped under -O.
    @Test func trainingWithOneValuePerChannelStopsWithAMessage() async throws {
        let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let bn = BatchNorm2d(numFeatures: 2)
            _ = bn.forward(FeatureMap(shape: FeatureShape(channels: 2, height: 1, width: 1, batch: 1)), training: true)
        }
        let text = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(text.contains("Fatal error: BatchNorm2d: Expected more than 1 value per channel when training, got input size [1, 2, 1, 1]"))
    }
}
