import Testing
@testable import MobileNet

/// The BatchNorm-folded inference network against the model's own eval-mode forward.
@Suite struct FoldedMobileNetV1Tests {
    /// A quarter-width network whose BatchNorms have non-trivial γ, β and running
    /// statistics (so folding changes every weight), random weights elsewhere.
    static func model(seed: UInt64) -> MobileNetV1 {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: seed)
        var rng = TestRNG(seed: seed + 100)
        for (_, layer) in model.namedLayers {
            guard let norm = layer as? BatchNorm2d else { continue }
            for c in 0..<norm.numFeatures {
                norm.weight.value.data[c] = rng.uniform(0.5, 1.5)
                norm.bias.value.data[c] = rng.uniform(-0.5, 0.5)
                norm.runningMean.data[c] = rng.uniform(-0.3, 0.3)
                norm.runningVar.data[c] = rng.uniform(0.05, 0.5)
            }
        }
        return model
    }

    /// Logits agree with eval mode within the whole-network rule of the golden README
    /// (1e-4·max|b| + 1e-4·|b|): folding only reorders float roundings. Batches below and
    /// above 2 × minimumPieceBatch take both paths (layers split over threads; the batch cut
    /// into pieces of 16 + 17 and 20 + 20 images), and batch sizes in a row check that the
    /// planned buffers are reshaped, not reused stale.
    @Test func logitsMatchTheEvalModeForward() {
        let model = Self.model(seed: 21)
        let folded = model.makeInferenceModel()
        var rng = TestRNG(seed: 22)
        #expect(FoldedMobileNetV1.pieceCount(batch: 5) == 1)
        #expect(FoldedMobileNetV1.pieceCount(batch: 33) == BLAS.pieces)
        for batch in [5, 33, 3, 40] {
            let input = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: batch), &rng)
            let expected = model.forward(input, training: false).nchwArray()
            let actual = folded.forward(input).nchwArray()
            expectAllClose(actual, expected, atolScale: 1e-4, rtol: 1e-4, "logits at batch \(batch)")
        }
    }

    /// The logits are bitwise the same with 1 and 2 threads on both paths (the batch's cut
    /// depends on max(2, threads), not on the thread count).
    @Test func logitsAreBitwiseIdenticalWithOneAndTwoThreads() {
        let saved = Parallel.threadCount
        defer { setEngineThreads(saved) }
        let folded = Self.model(seed: 23).makeInferenceModel()
        var rng = TestRNG(seed: 24)
        for batch in [6, 35] {
            let input = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: batch), &rng)
            setEngineThreads(1)
            let one = folded.forward(input).nchwArray().map(\.bitPattern)
            setEngineThreads(2)
            let two = folded.forward(input).nchwArray().map(\.bitPattern)
            #expect(one == two, "batch \(batch)")
        }
    }

    /// The entry's direct convolution against Conv2d (im2col + GEMM, checked against
    /// PyTorch in Conv2dTests) plus bias and ReLU6, on odd sizes, both strides, and
    /// batches with and without a partial 16-lane vector; values reach past 0 and 6.
    @Test(arguments: [1, 2])
    func directConvolutionMatchesConv2dWithBiasAndReLU6(stride: Int) {
        var rng = TestRNG(seed: UInt64(30 + stride))
        var clamped: Set<Float> = []
        for (height, width, batch) in [(7, 6, 17), (5, 9, 3), (2, 2, 33), (1, 1, 1)] {
            let conv = Conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, stride: stride, padding: 1, bias: false)
            randomize(conv.parameters, &rng)
            let input = randomFeatureMap(FeatureShape(channels: 3, height: height, width: width, batch: batch), &rng)
            for i in 0..<input.shape.count { input.data[i] *= 8 }
            let bias = Tensor(shape: [4], values: [-1, 0.5, 2, -3])
            let reference = conv.forward(input, training: false)
            let out = reference.shape
            var expected = Array(reference.buffer)
            for c in 0..<4 {
                for i in 0..<out.channelStride { expected[c * out.channelStride + i] = ReLU6.clamp(expected[c * out.channelStride + i] + bias.data[c]) }
            }
            let actual = FeatureMap(shape: out)
            FoldedMobileNetV1.ConvolutionBiasReLU6(
                x: SendablePointer(input.data), w: SendablePointer(conv.weight.value.data), bias: SendablePointer(bias.data),
                y: SendablePointer(actual.data), shape: input.shape, geometry: conv.geometry, depthwise: false).run(0..<4)
            clamped.formUnion(expected.filter { $0 == 0 || $0 == 6 })
            expectAllClose(Array(actual.buffer), expected, atolScale: 1e-5, rtol: 1e-5, "\(height)×\(width) N \(batch) s \(stride)")
        }
        #expect(clamped == [0, 6], "both ends of the clamp are exercised")
    }

    /// The folded depthwise (bias and ReLU6 applied as each sum is stored) against the
    /// depthwise scalar twin plus bias and ReLU6, on the same odd shapes.
    @Test(arguments: [1, 2])
    func depthwiseWithBiasAndReLU6MatchesTheScalarTwin(stride: Int) {
        var rng = TestRNG(seed: UInt64(40 + stride))
        var clamped: Set<Float> = []
        for (height, width, batch) in [(7, 6, 17), (5, 9, 3), (2, 2, 33), (1, 1, 1), (4, 4, 50)] {
            let (layer, shape, input, bias) = depthwiseCase(height, width, batch, stride, &rng)
            let out = layer.geometry.outputShape(shape, outChannels: 3)
            var expected = DepthwiseConv2d.referenceForward(input: Array(input.buffer), shape: shape,
                                                           weight: layer.weight.value.array, geometry: layer.geometry)
            for c in 0..<3 {
                for i in 0..<out.channelStride { expected[c * out.channelStride + i] = ReLU6.clamp(expected[c * out.channelStride + i] + bias.data[c]) }
            }
            let actual = FeatureMap(shape: out)
            FoldedMobileNetV1.ConvolutionBiasReLU6(
                x: SendablePointer(input.data), w: SendablePointer(layer.weight.value.data), bias: SendablePointer(bias.data),
                y: SendablePointer(actual.data), shape: shape, geometry: layer.geometry, depthwise: true).run(0..<3)
            clamped.formUnion(expected.filter { $0 == 0 || $0 == 6 })
            expectAllClose(Array(actual.buffer), expected, atolScale: 1e-5, rtol: 1e-5, "\(height)×\(width) N \(batch) s \(stride)")
        }
        #expect(clamped == [0, 6], "both ends of the clamp are exercised")
    }

    /// A depthwise layer of 3 channels with random weights, a random input scaled to reach
    /// past 0 and 6, and the output bias [−1, 0.5, 3].
    private func depthwiseCase(_ height: Int, _ width: Int, _ batch: Int, _ stride: Int, _ rng: inout TestRNG)
        -> (DepthwiseConv2d, FeatureShape, FeatureMap, Tensor) {
        let layer = DepthwiseConv2d(channels: 3, stride: stride)
        randomize(layer.parameters, &rng)
        let shape = FeatureShape(channels: 3, height: height, width: width, batch: batch)
        let input = randomFeatureMap(shape, &rng)
        for i in 0..<shape.count { input.data[i] *= 8 }
        return (layer, shape, input, Tensor(shape: [3], values: [-1, 0.5, 3]))
    }

    /// A depthwise given the previous pointwise's bias (`inputBias`) gives bitwise the values
    /// of a bias + ReLU6 pass over its input first, at batch 1 and at batches with and
    /// without a partial 16-lane vector, both strides; values reach past 0 and 6.
    @Test(arguments: [1, 2])
    func depthwiseInputBiasIsBitwiseASeparatePassBefore(stride: Int) {
        var rng = TestRNG(seed: UInt64(50 + stride))
        var clamped: Set<Float> = []
        for (height, width, batch) in [(7, 6, 17), (5, 9, 1), (4, 4, 50), (2, 2, 1), (1, 1, 3)] {
            let (layer, shape, input, bias) = depthwiseCase(height, width, batch, stride, &rng)
            let inputBias = Tensor(shape: [3], values: [2, -0.75, 4])
            let activated = FeatureMap(shape: shape)
            for c in 0..<3 {
                for i in 0..<shape.channelStride {
                    activated.data[c * shape.channelStride + i] = ReLU6.clamp(input.data[c * shape.channelStride + i] + inputBias.data[c])
                }
            }
            clamped.formUnion((0..<shape.count).map { activated.data[$0] }.filter { $0 == 0 || $0 == 6 })
            let out = layer.geometry.outputShape(shape, outChannels: 3)
            let expected = FeatureMap(shape: out), actual = FeatureMap(shape: out)
            FoldedMobileNetV1.ConvolutionBiasReLU6(
                x: SendablePointer(activated.data), w: SendablePointer(layer.weight.value.data), bias: SendablePointer(bias.data),
                y: SendablePointer(expected.data), shape: shape, geometry: layer.geometry, depthwise: true).run(0..<3)
            FoldedMobileNetV1.ConvolutionBiasReLU6(
                x: SendablePointer(input.data), w: SendablePointer(layer.weight.value.data), bias: SendablePointer(bias.data),
                y: SendablePointer(actual.data), shape: shape, geometry: layer.geometry, depthwise: true,
                inputBias: SendablePointer(inputBias.data)).run(0..<3)
            #expect((0..<out.count).map { actual.data[$0].bitPattern } == (0..<out.count).map { expected.data[$0].bitPattern },
                    "\(height)×\(width) N \(batch) s \(stride)")
        }
        #expect(clamped == [0, 6], "both ends of the clamp are exercised")
    }

    /// The average pool with a pending bias: (Σ_p clamp(x + b)) / P, pixels in order, by hand.
    @Test func averageWithPendingBiasAppliesBiasAndReLU6First() {
        // C = 2, P = 2 pixels, N = 2: x[c, p, n].
        let x = Tensor(shape: [8], values: [1, -3, 7, 2, 0.5, 5, -1, 4])
        let bias = Tensor(shape: [2], values: [0.5, 1.5])
        let y = Tensor(shape: [4])
        FoldedMobileNetV1.BiasReLU6Average(x: SendablePointer(x.data), bias: SendablePointer(bias.data), y: SendablePointer(y.data),
                                           pixels: 2, batch: 2).run(0..<2)
        // c 0: n 0 (1.5 + 6)/2 = 3.75, n 1 (0 + 2.5)/2 = 1.25; c 1: n 0 (2 + 0.5)/2 = 1.25, n 1 (6 + 5.5)/2 = 5.75.
        expectAllClose(y.array, [3.75, 1.25, 1.25, 5.75], "pooled")
    }

    /// Folding one conv + BN by hand: W' = s·W, b' = β − s·μ with s = γ/√(σ² + eps).
    @Test func foldingScalesWeightsAndShiftsBias() {
        let weight = Tensor(shape: [2, 1, 1, 2], values: [1, -2, 3, 4])
        let norm = BatchNorm2d(numFeatures: 2)
        norm.weight.value.data[0] = 3
        norm.weight.value.data[1] = 0.5
        norm.bias.value.data[0] = 1
        norm.bias.value.data[1] = -1
        norm.runningMean.data[0] = 0.5
        norm.runningMean.data[1] = -2
        norm.runningVar.data[0] = 4 - 1e-5
        norm.runningVar.data[1] = 0.25 - 1e-5
        // σ² + eps = 4 and 0.25, so s = (3/2, 0.5/0.5) = (1.5, 1);
        // b' = (1 − 1.5·0.5, −1 − 1·(−2)) = (0.25, 1).
        let folded = FoldedMobileNetV1.fold(weight, norm)
        expectAllClose(folded.weight.array, [1.5, -3, 3, 4], "weight")
        expectAllClose(folded.bias.array, [0.25, 1], "bias")
    }
}
