import Testing
@testable import MobileNet

@Suite struct PointwiseConv2dTests {
    /// The three SGEMMs against naive loops in PyTorch's N×C×H×W terms (Double sums):
    /// y[n, o, p] = Σ_i w[o, i] x[n, i, p]; dx[n, i, p] = Σ_o w[o, i] dy[n, o, p];
    /// dw[o, i] = Σ_{n, p} dy[n, o, p] x[n, i, p].
    @Test func matchesNaiveLoopsOnOddShape() {
        var rng = TestRNG(seed: 61)
        let cin = 5, cout = 7, batch = 3, spatial = 3 * 2
        let layer = PointwiseConv2d(inChannels: cin, outChannels: cout)
        randomize(layer.parameters, &rng)
        let w = layer.weight.value.array
        let x = rng.floats(batch * cin * spatial), dy = rng.floats(batch * cout * spatial)
        let input = FeatureMap(nchw: x, shape: FeatureShape(channels: cin, height: 3, width: 2, batch: batch))
        let output = layer.forward(input, training: true)
        let gradInput = layer.backward(FeatureMap(nchw: dy, shape: output.shape))

        var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
        var dw = [Float](repeating: 0, count: w.count)
        for n in 0..<batch {
            for p in 0..<spatial {
                for o in 0..<cout {
                    var sum = 0.0
                    for i in 0..<cin { sum += Double(w[o * cin + i]) * Double(x[(n * cin + i) * spatial + p]) }
                    y[(n * cout + o) * spatial + p] = Float(sum)
                }
                for i in 0..<cin {
                    var sum = 0.0
                    for o in 0..<cout { sum += Double(w[o * cin + i]) * Double(dy[(n * cout + o) * spatial + p]) }
                    dx[(n * cin + i) * spatial + p] = Float(sum)
                }
            }
        }
        for o in 0..<cout {
            for i in 0..<cin {
                var sum = 0.0
                for n in 0..<batch {
                    for p in 0..<spatial { sum += Double(dy[(n * cout + o) * spatial + p]) * Double(x[(n * cin + i) * spatial + p]) }
                }
                dw[o * cin + i] = Float(sum)
            }
        }
        #expect(output.shape == FeatureShape(channels: cout, height: 3, width: 2, batch: batch))
        expectAllClose(output.nchwArray(), y, "forward")
        expectAllClose(gradInput.nchwArray(), dx, "gradInput")
        expectAllClose(layer.weight.grad.array, dw, "gradWeight")
    }

    @Test func gradientsMatchFiniteDifferences() {
        var rng = TestRNG(seed: 71)
        let layer = PointwiseConv2d(inChannels: 6, outChannels: 5)
        randomize(layer.parameters, &rng)
        let input = randomFeatureMap(FeatureShape(channels: 6, height: 3, width: 3, batch: 5), &rng)
        expectLayerGradientsMatchFiniteDifferences(layer, input: input, seed: 72)
    }

    @Test func multiplyAddsMatchFlopsTable() throws {
        let table = try FlopsTable.load()
        #expect(table.blocks[0].pointwiseMultiplyAdds == 2_097_152)
        for block in table.blocks {
            let size = block.outputSize
            #expect(PointwiseConv2d(inChannels: block.inChannels, outChannels: block.outChannels)
                        .multiplyAdds(inputHeight: size, inputWidth: size) == block.pointwiseMultiplyAdds, "\(block.name)")
        }
        // The toy example of Howard et al. §3.1: M = 3, N = 8, F = 5 → M·N·F·F = 600 (of the 900 separable).
        #expect(PointwiseConv2d.multiplyAdds(inChannels: 3, outChannels: 8, inputHeight: 5, inputWidth: 5) == 600)
    }

    @Test func initialisationIsUniformWithinPyTorchBound() {
        var generator = SeededGenerator(seed: 5)
        let layer = PointwiseConv2d(inChannels: 64, outChannels: 128)
        layer.resetParameters(using: &generator)
        #expect(layer.weight.value.shape == [128, 64, 1, 1])
        expectUniform(layer.weight.value.array, bound: 1 / 8)
    }
}
