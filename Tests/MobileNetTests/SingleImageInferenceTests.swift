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
}
