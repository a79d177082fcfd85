import Testing
@testable import MobileNet

@Suite struct DepthwiseConv2dTests {
    /// Runs the layer (fast SIMD kernels) and the scalar twin on the same random data and
    /// compares forward, gradInput and gradWeight.
    ///
    /// Tolerance |a − b| ≤ 1e-5·max|b| + 1e-5·|b|: the forward sums taps in the twin's
    /// order, but gradInput gathers where the twin scatters, and gradWeight sums in 16
    /// SIMD lanes where the twin sums sequentially, so the float32 rounding differs by a
    /// few ulps of the partial sums (observed ≤ 1e-6 relative); an indexing error is O(1).
    static func expectFastMatchesTwin(channels: Int, height: Int, width: Int, batch: Int,
                                      kernelSize: Int = 3, stride: Int, padding: Int = 1, seed: UInt64,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        var rng = TestRNG(seed: seed)
        let layer = DepthwiseConv2d(channels: channels, kernelSize: kernelSize, stride: stride, padding: padding)
        randomize(layer.parameters, &rng)
        let shape = FeatureShape(channels: channels, height: height, width: width, batch: batch)
        let input = randomFeatureMap(shape, &rng)
        let output = layer.forward(input, training: true)
        let gradOutput = randomFeatureMap(output.shape, &rng)
        let gradInput = layer.backward(gradOutput)

        let what = "C \(channels) \(height)×\(width) N \(batch) K \(kernelSize) s \(stride) p \(padding)"
        let x = Array(input.buffer), w = layer.weight.value.array
        let twinOutput = DepthwiseConv2d.referenceForward(input: x, shape: shape, weight: w, geometry: layer.geometry)
        let twin = DepthwiseConv2d.referenceBackward(input: x, shape: shape, weight: w,
                                                     gradOutput: Array(gradOutput.buffer), geometry: layer.geometry)
        expectAllClose(Array(output.buffer), twinOutput, atolScale: 1e-5, rtol: 1e-5, "forward \(what)",
                       sourceLocation: sourceLocation)
        expectAllClose(Array(gradInput.buffer), twin.gradInput, atolScale: 1e-5, rtol: 1e-5, "gradInput \(what)",
                       sourceLocation: sourceLocation)
        expectAllClose(layer.weight.grad.array, twin.gradWeight, atolScale: 1e-5, rtol: 1e-5, "gradWeight \(what)",
                       sourceLocation: sourceLocation)
    }

    /// Odd image sizes, stride 1 and 2, batches that are not multiples of the 16-lane vector
    /// (1 and 3: scalar remainder only; 17: one vector + 1; 33: two vectors + 1).
    @Test(arguments: [(7, 7), (9, 6), (2, 2), (1, 1)], [1, 2])
    func fastKernelsMatchScalarTwinOnOddShapes(size: (height: Int, width: Int), stride: Int) {
        for batch in [1, 3, 17, 33] {
            Self.expectFastMatchesTwin(channels: 3, height: size.height, width: size.width, batch: batch,
                                       stride: stride, seed: UInt64(batch * 10 + stride))
        }
    }

    /// General K: 5×5 (pad 2), an even 2×2 kernel, and 3×3 without padding.
    @Test(arguments: [(kernelSize: 5, stride: 1, padding: 2), (kernelSize: 5, stride: 2, padding: 2),
                      (kernelSize: 2, stride: 1, padding: 0), (kernelSize: 3, stride: 2, padding: 0)])
    func fastKernelsMatchScalarTwinForOtherKernels(_ c: (kernelSize: Int, stride: Int, padding: Int)) {
        Self.expectFastMatchesTwin(channels: 2, height: 7, width: 6, batch: 19, kernelSize: c.kernelSize,
                                   stride: c.stride, padding: c.padding, seed: 5)
    }

    /// The twin against an independent path: a standard Conv2d (im2col + SGEMM, checked
    /// against PyTorch) whose weight is zero except w[c, c] = the depthwise filter of c.
    @Test(arguments: [1, 2])
    func scalarTwinEqualsStandardConvolutionWithDiagonalWeight(stride: Int) {
        var rng = TestRNG(seed: 21)
        let channels = 4, k = 3
        let shape = FeatureShape(channels: channels, height: 7, width: 6, batch: 3)
        let geometry = ConvGeometry(kernelSize: k, stride: stride, padding: 1)
        let x = rng.floats(shape.count), w = rng.floats(channels * k * k)
        let conv = Conv2d(inChannels: channels, outChannels: channels, kernelSize: k, stride: stride, padding: 1, bias: false)
        for c in 0..<channels {
            for t in 0..<(k * k) { conv.weight.value.data[(c * channels + c) * k * k + t] = w[c * k * k + t] }
        }
        let input = FeatureMap(shape: shape)
        _ = input.buffer.update(fromContentsOf: x)
        let output = conv.forward(input, training: true)
        let dy = rng.floats(output.shape.count)
        let gradOutput = FeatureMap(shape: output.shape)
        _ = gradOutput.buffer.update(fromContentsOf: dy)
        let gradInput = conv.backward(gradOutput)
        let convGradWeight = conv.weight.grad.array
        let diagonal = (0..<(channels * k * k)).map { i in convGradWeight[((i / (k * k)) * channels + i / (k * k)) * k * k + i % (k * k)] }

        let twin = DepthwiseConv2d.referenceBackward(input: x, shape: shape, weight: w, gradOutput: dy, geometry: geometry)
        expectAllClose(DepthwiseConv2d.referenceForward(input: x, shape: shape, weight: w, geometry: geometry),
                       Array(output.buffer), "forward")
        expectAllClose(twin.gradInput, Array(gradInput.buffer), "gradInput")
        expectAllClose(twin.gradWeight, diagonal, "gradWeight")
    }

    @Test(arguments: [1, 2])
    func gradientsMatchFiniteDifferences(stride: Int) {
        var rng = TestRNG(seed: 31)
        let layer = DepthwiseConv2d(channels: 3, stride: stride)
        randomize(layer.parameters, &rng)
        let input = randomFeatureMap(FeatureShape(channels: 3, height: 7, width: 6, batch: 17), &rng)
        expectLayerGradientsMatchFiniteDifferences(layer, input: input, seed: 32)
    }

    /// Each channel's K·K sums run on one thread in one order, so the result is the same
    /// bits whatever the thread count (exact equality is the property under test).
    @Test func backwardIsIdenticalForOneAndTwoThreads() {
        var rng = TestRNG(seed: 41)
        let layer = DepthwiseConv2d(channels: 5, stride: 2)
        randomize(layer.parameters, &rng)
        let input = randomFeatureMap(FeatureShape(channels: 5, height: 9, width: 9, batch: 35), &rng)
        let gradOutput = randomFeatureMap(FeatureShape(channels: 5, height: 5, width: 5, batch: 35), &rng)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var results: [[Float]] = []
        for threads in [1, 2] {
            Parallel.threadCount = threads
            layer.weight.zeroGrad()
            _ = layer.forward(input, training: true)
            results.append(Array(layer.backward(gradOutput).buffer) + layer.weight.grad.array)
        }
        #expect(results[0] == results[1])
    }

    @Test func weightGradientAccumulatesAcrossBackwardCalls() {
        var rng = TestRNG(seed: 51)
        let layer = DepthwiseConv2d(channels: 2)
        randomize(layer.parameters, &rng)
        let shape = FeatureShape(channels: 2, height: 4, width: 5, batch: 18)
        let input = randomFeatureMap(shape, &rng)
        let gradOutput = randomFeatureMap(shape, &rng)
        _ = layer.forward(input, training: true)
        _ = layer.backward(gradOutput)
        _ = layer.backward(gradOutput)
        let twin = DepthwiseConv2d.referenceBackward(input: Array(input.buffer), shape: shape, weight: layer.weight.value.array,
                                                     gradOutput: Array(gradOutput.buffer), geometry: layer.geometry)
        expectAllClose(layer.weight.grad.array, twin.gradWeight.map { 2 * $0 }, "2 × gradWeight")
    }

    @Test func multiplyAddsMatchFlopsTable() throws {
        let table = try FlopsTable.load()
        #expect(table.blocks[0].depthwiseMultiplyAdds == 294_912)
        for block in table.blocks {
            #expect(DepthwiseConv2d.multiplyAdds(channels: block.inChannels, stride: block.stride,
                                                 inputHeight: block.inputSize, inputWidth: block.inputSize)
                    == block.depthwiseMultiplyAdds, "\(block.name)")
        }
        // The toy example of Howard et al. §3.1: K = 2, M = 3, F = 5 → K·K·M·F·F = 300 (of the 900 separable).
        #expect(DepthwiseConv2d(channels: 3, kernelSize: 2, padding: 0).multiplyAdds(inputHeight: 6, inputWidth: 6) == 300)
    }

    @Test func initialisationIsUniformWithinPyTorchBound() {
        var generator = SeededGenerator(seed: 4)
        let layer = DepthwiseConv2d(channels: 64)
        layer.resetParameters(using: &generator)
        #expect(layer.weight.value.shape == [64, 1, 3, 3])
        #expect(layer.weight.kind == .depthwiseWeight)
        expectUniform(layer.weight.value.array, bound: 1 / 3)
    }
}
