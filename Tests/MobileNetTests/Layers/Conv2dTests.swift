import Foundation
import Testing
@testable import MobileNet

@Suite struct Conv2dTests {
    /// conv3x3_s2: Conv2d(in → out, K×K, stride 2, pad K/2, bias) (today's file: 5 → 7, 3×3,
    /// 2×5×9×8 → 2×7×5×4); channels and K from conv3x3_s2.weight [out, in, K, K], the
    /// output shape from output_train. Nil, with a recorded failure, when the file's shapes
    /// do not fit together.
    static func goldenLayer() throws -> (layer: Conv2d, input: FeatureMap, gradOutput: FeatureMap)? {
        let file = Fixtures.layers
        let weight = try file.tensor("conv3x3_s2.weight"), bias = try file.tensor("conv3x3_s2.bias")
        guard expectRank(weight.shape, 4, "conv3x3_s2.weight"), expectShape(bias.shape, [weight.shape[0]], "conv3x3_s2.bias")
        else { return nil }
        let layer = Conv2d(inChannels: weight.shape[1], outChannels: weight.shape[0], kernelSize: weight.shape[2], stride: 2,
                           padding: weight.shape[2] / 2, bias: true)
        layer.weight.value.copy(from: weight)
        try #require(layer.bias).value.copy(from: bias)
        guard let input = try fixtureMap(file, "conv3x3_s2.input"), let gradOutput = try fixtureMap(file, "conv3x3_s2.grad_output"),
              expectShape([input.shape.channels], [weight.shape[1]], "conv3x3_s2.input channels"),
              expectShape(gradOutput.nchwShape, try file.entry("conv3x3_s2.output_train").shape, "conv3x3_s2.grad_output")
        else { return nil }
        return (layer, input, gradOutput)
    }

    @Test func conv3x3Stride2MatchesPyTorch() throws {
        let file = Fixtures.layers
        guard let golden = try Self.goldenLayer() else { return }
        let (layer, input, gradOutput) = golden
        let output = layer.forward(input, training: true)
        #expect(output.nchwShape == (try file.entry("conv3x3_s2.output_train").shape))
        guard output.shape == gradOutput.shape else { return }
        expectAllClose(output.nchwArray(), try file.floats("conv3x3_s2.output_train"), "output_train")

        let gradInput = layer.backward(gradOutput)
        expectAllClose(gradInput.nchwArray(), try file.floats("conv3x3_s2.grad.input"), "grad.input")
        expectAllClose(layer.weight.grad.array, try file.floats("conv3x3_s2.grad.weight"), "grad.weight")
        expectAllClose(try #require(layer.bias).grad.array, try file.floats("conv3x3_s2.grad.bias"), "grad.bias")

        let eval = layer.forward(input, training: false)
        expectAllClose(eval.nchwArray(), try file.floats("conv3x3_s2.output_eval"), "output_eval")
    }

    @Test func parameterGradientsAccumulateAndGradInputCanBeSkipped() throws {
        let file = Fixtures.layers
        guard let golden = try Self.goldenLayer() else { return }
        let (layer, input, gradOutput) = golden
        layer.computesGradInput = false
        var gradInput: FeatureMap?
        for _ in 0..<2 {
            _ = layer.forward(input, training: true)
            gradInput = layer.backward(gradOutput)
        }
        // Two backward passes without zeroGrad add up, as PyTorch's .grad does.
        let twice = { (values: [Float]) in values.map { 2 * $0 } }
        expectAllClose(layer.weight.grad.array, twice(try file.floats("conv3x3_s2.grad.weight")), "2 × grad.weight")
        expectAllClose(try #require(layer.bias).grad.array, twice(try file.floats("conv3x3_s2.grad.bias")), "2 × grad.bias")
        #expect(try #require(gradInput).buffer.allSatisfy { $0 == 0 })
    }

    @Test(arguments: [(kernelSize: 3, stride: 2, padding: 1, bias: true),
                      (kernelSize: 2, stride: 1, padding: 0, bias: false),
                      (kernelSize: 3, stride: 1, padding: 1, bias: false)])
    func gradientsMatchFiniteDifferences(_ c: (kernelSize: Int, stride: Int, padding: Int, bias: Bool)) {
        var rng = TestRNG(seed: 11)
        let layer = Conv2d(inChannels: 3, outChannels: 4, kernelSize: c.kernelSize, stride: c.stride,
                           padding: c.padding, bias: c.bias)
        randomize(layer.parameters, &rng)
        let input = randomFeatureMap(FeatureShape(channels: 3, height: 5, width: 6, batch: 3), &rng)
        expectLayerGradientsMatchFiniteDifferences(layer, input: input, seed: 12)
    }

    @Test func multiplyAddsMatchFlopsTable() throws {
        let table = try FlopsTable.load()
        // entry: 3 → 32, 3×3, pad 1 on 32×32 (no bias).
        #expect(Conv2d.multiplyAdds(inChannels: 3, outChannels: 32, kernelSize: 3, padding: 1,
                                    inputHeight: 32, inputWidth: 32) == table.entryMultiplyAdds)
        #expect(table.entryMultiplyAdds == 884_736)
        #expect(table.blocks[0].standardMultiplyAdds == 18_874_368)
        for block in table.blocks {
            let layer = Conv2d(inChannels: block.inChannels, outChannels: block.outChannels, kernelSize: 3,
                               stride: block.stride, padding: 1, bias: false)
            #expect(layer.multiplyAdds(inputHeight: block.inputSize, inputWidth: block.inputSize)
                    == block.standardMultiplyAdds, "\(block.name)")
        }
        // The toy example of Howard et al. §3.1: K = 2, M = 3, N = 8, F = 5 (a 5×5 output, 6×6 input, no padding).
        #expect(Conv2d.multiplyAdds(inChannels: 3, outChannels: 8, kernelSize: 2, inputHeight: 6, inputWidth: 6) == 2400)
    }

    @Test func outputSizeFollowsPyTorchFormula() {
        #expect(ConvGeometry(kernelSize: 3, stride: 2, padding: 1).outputSize(9) == 5)
        #expect(ConvGeometry(kernelSize: 3, stride: 2, padding: 1).outputSize(8) == 4)
        #expect(ConvGeometry(kernelSize: 3, stride: 2, padding: 1).outputSize(2) == 1)
        #expect(ConvGeometry(kernelSize: 3, stride: 1, padding: 1).outputSize(1) == 1)
        #expect(ConvGeometry(kernelSize: 5, stride: 3, padding: 0).outputSize(11) == 3)
    }

    /// The kernels' tap ranges against enumerating every (output, tap) pair.
    @Test func tapRangesMatchBruteForceEnumeration() {
        for kernelSize in 1...5 {
            for stride in 1...3 {
                for padding in 0...2 {
                    let g = ConvGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
                    for size in max(1, kernelSize - 2 * padding)...9 {
                        let outSize = g.outputSize(size)
                        let pairs = (0..<outSize).flatMap { o in
                            (0..<kernelSize).map { k in (o: o, k: k, i: o * stride - padding + k) }
                        }.filter { $0.i >= 0 && $0.i < size }
                        let what = "\(g), size \(size)"
                        for o in 0..<outSize {
                            #expect(Array(g.validTaps(output: o, inputSize: size)) == pairs.filter { $0.o == o }.map(\.k), "\(what)")
                        }
                        for k in 0..<kernelSize {
                            #expect(Array(g.validOutputs(tap: k, inputSize: size, outputSize: outSize))
                                    == pairs.filter { $0.k == k }.map(\.o), "\(what)")
                        }
                        for i in 0..<size {
                            let reading = g.tapsReading(input: i, outputSize: outSize)
                            let expected = pairs.filter { $0.i == i }.sorted { $0.k < $1.k }
                            #expect(Array(reading.taps) == expected.map(\.k), "\(what) input \(i)")
                            if let first = expected.first { #expect(reading.firstOutput == first.o, "\(what) input \(i)") }
                        }
                    }
                }
            }
        }
    }

    @Test func initialisationIsUniformWithinPyTorchBound() throws {
        var generator = SeededGenerator(seed: 3)
        let layer = Conv2d(inChannels: 16, outChannels: 32, kernelSize: 3, bias: true)
        layer.resetParameters(using: &generator)
        let bound = 1 / Float(16 * 9).squareRoot()
        expectUniform(layer.weight.value.array, bound: bound)
        expectUniform(try #require(layer.bias).value.array, bound: bound, tailFraction: 0.5)
    }
}

// MARK: - Helpers shared by the convolution tests

/// The multiply-add table of ../shared/golden/flops.json (mobilenet_v1_cifar10).
struct FlopsTable {
    struct Block {
        var name: String, inChannels: Int, outChannels: Int, stride: Int, outputSize: Int
        var depthwiseMultiplyAdds: Int, pointwiseMultiplyAdds: Int, standardMultiplyAdds: Int
        /// The block's input size: with 3×3, pad 1, F = (H − 1)/s + 1, so H = F·s for even H.
        var inputSize: Int { outputSize * stride }
    }
    var entryMultiplyAdds: Int
    var blocks: [Block]

    static func load() throws -> FlopsTable {
        let data = try Data(contentsOf: Fixtures.url("flops.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let net = try #require(root["mobilenet_v1_cifar10"] as? [String: Any])
        let layers = try #require(net["layers"] as? [[String: Any]])
        var table = FlopsTable(entryMultiplyAdds: 0, blocks: [])
        for layer in layers {
            let int = { (key: String) throws -> Int in try #require(layer[key] as? Int, "\(key)") }
            switch layer["kind"] as? String {
            case "conv3x3": table.entryMultiplyAdds = try int("macs")
            case "dsc":
                table.blocks.append(Block(
                    name: try #require(layer["name"] as? String), inChannels: try int("in"), outChannels: try int("out"),
                    stride: try int("stride"), outputSize: try int("out_size"),
                    depthwiseMultiplyAdds: try int("depthwise_macs"), pointwiseMultiplyAdds: try int("pointwise_macs"),
                    standardMultiplyAdds: try int("standard_conv_macs")))
            default: continue
            }
        }
        #expect(table.blocks.count == 13)
        return table
    }
}

/// A feature map of the given shape with values uniform in [−1, 1).
func randomFeatureMap(_ shape: FeatureShape, _ rng: inout TestRNG) -> FeatureMap {
    let map = FeatureMap(shape: shape)
    for i in 0..<shape.count { map.data[i] = rng.uniform() }
    return map
}

/// Fills every parameter with values uniform in [−1, 1).
func randomize(_ parameters: [Parameter], _ rng: inout TestRNG) {
    for parameter in parameters {
        for i in 0..<parameter.value.count { parameter.value.data[i] = rng.uniform() }
    }
}

/// Checks ∂L/∂input and every ∂L/∂parameter of `layer` (L = Σ forward(input) · dY for a
/// random dY) against central differences.
func expectLayerGradientsMatchFiniteDifferences(
    _ layer: some Layer, input: FeatureMap, seed: UInt64,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var rng = TestRNG(seed: seed)
    let gradOutput = randomFeatureMap(layer.forward(input, training: true).shape, &rng)
    for parameter in layer.parameters { parameter.zeroGrad() }
    let gradInput = Array(layer.backward(gradOutput).buffer)
    let loss = { () -> Double in
        let output = layer.forward(input, training: true)
        var sum = 0.0
        for i in 0..<output.shape.count { sum += Double(output.data[i]) * Double(gradOutput.data[i]) }
        return sum
    }
    expectGradientMatchesFiniteDifferences(values: input.data, count: input.shape.count, analytic: gradInput,
                                           seed: seed, "input", sourceLocation: sourceLocation, loss: loss)
    for parameter in layer.parameters {
        expectGradientMatchesFiniteDifferences(values: parameter.value.data, count: parameter.value.count,
                                               analytic: parameter.grad.array, seed: seed, parameter.name,
                                               sourceLocation: sourceLocation, loss: loss)
    }
}

/// Values drawn from U(−bound, bound): all inside, and both tails reached (within
/// `tailFraction`·bound of ±bound), which a wrong bound (e.g. √3 or 1/√fan_out) fails.
func expectUniform(_ values: [Float], bound: Float, tailFraction: Float = 0.1,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let low = values.min() ?? 0, high = values.max() ?? 0
    #expect(low >= -bound && high <= bound, "range [\(low), \(high)] exceeds ±\(bound)", sourceLocation: sourceLocation)
    #expect(low < -(1 - tailFraction) * bound && high > (1 - tailFraction) * bound,
            "range [\(low), \(high)] does not reach near ±\(bound)", sourceLocation: sourceLocation)
}
