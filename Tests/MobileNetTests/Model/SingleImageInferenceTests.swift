import Testing
@testable import MobileNet

/// The folded network's batch-1 convolution path (zero-padded copy, whole-row sums) gives
/// bitwise the values of the general path, which a batch of several images takes.
@Suite struct SingleImageInferenceTests {
    @Test(arguments: [(true, 1), (true, 2), (false, 1), (false, 2)])
    func batchOneConvolutionIsBitwiseTheGeneralPath(depthwise: Bool, stride: Int) {
        var rng = TestRNG(seed: UInt64(60 + stride + (depthwise ? 10 : 0)))
        let channels = depthwise ? 5 : 3, outChannels = depthwise ? 5 : 4, batch = 3
        for (height, width) in [(32, 32), (7, 6), (5, 9), (4, 4), (2, 2), (1, 1)] {
            let geometry = ConvGeometry(kernelSize: 3, stride: stride, padding: 1)
            let taps = (depthwise ? 1 : channels) * 9
            let weight = Tensor(shape: [outChannels, taps], values: (0..<outChannels * taps).map { _ in rng.uniform(-1, 1) })
            let bias = Tensor(shape: [outChannels], values: (0..<outChannels).map { _ in rng.uniform(-1, 3) })
            let shape = FeatureShape(channels: channels, height: height, width: width, batch: batch)
            let input = randomFeatureMap(shape, &rng)
            for i in 0..<shape.count { input.data[i] *= 4 }
            func convolve(_ x: FeatureMap) -> FeatureMap {
                let y = FeatureMap(shape: geometry.outputShape(x.shape, outChannels: outChannels))
                FoldedMobileNetV1.ConvolutionBiasReLU6(
                    x: SendablePointer(x.data), w: SendablePointer(weight.data), bias: SendablePointer(bias.data),
                    y: SendablePointer(y.data), shape: x.shape, geometry: geometry, depthwise: depthwise).run(0..<outChannels)
                return y
            }
            let together = convolve(input)
            for image in 0..<batch {
                // Image `image` alone: every batch-innermost value of that image.
                var single = shape
                single.batch = 1
                let alone = FeatureMap(shape: single)
                for i in 0..<single.count { alone.data[i] = input.data[i * batch + image] }
                let result = convolve(alone)
                let expected = (0..<result.shape.count).map { together.data[$0 * batch + image].bitPattern }
                #expect((0..<result.shape.count).map { result.data[$0].bitPattern } == expected,
                        "\(depthwise ? "depthwise" : "dense") \(height)×\(width) stride \(stride) image \(image)")
            }
        }
    }

    /// The whole network at batch 1 (full width, so the products of the last stages, with
    /// only 16 or 4 columns, are big enough for BLAS.sgemm to cut into blocks on the
    /// threads): bitwise the same logits with 1 and 2 threads, and within the whole-network
    /// rule of the eval-mode forward.
    @Test func batchOneLogitsAreBitwiseTheSameWithOneAndTwoThreads() {
        let saved = Parallel.threadCount
        defer { setEngineThreads(saved) }
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 1, seed: 31)
        for (_, layer) in model.namedLayers {
            guard let norm = layer as? BatchNorm2d else { continue }
            for c in 0..<norm.numFeatures { norm.runningVar.data[c] = 0.05 + Float(c % 5) * 0.01 }
        }
        let folded = model.makeInferenceModel()
        // The 8 pointwise products on 4×4 and 2×2 maps (m·n·k from 512·16·256 to 1024·4·1024)
        // reach BLAS.parallelMultiplyAdds, so the two runs below each cut them into blocks.
        let narrowSplit = folded.inferenceGEMMs(batch: 1, height: 32, width: 32)[0].filter {
            $0.call.n <= 16 && $0.call.route == .split && $0.call.multiplyAdds >= BLAS.parallelMultiplyAdds
        }
        #expect(narrowSplit.count == 8)
        var rng = TestRNG(seed: 32)
        let input = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: 1), &rng)
        setEngineThreads(1)
        let one = folded.forward(input).nchwArray()
        setEngineThreads(2)
        let two = folded.forward(input).nchwArray()
        #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
        expectAllClose(one, model.forward(input, training: false).nchwArray(), atolScale: 1e-4, rtol: 1e-4, "batch-1 logits")
    }
}
