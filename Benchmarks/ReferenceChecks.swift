import MobileNet

/// A benchmark case whose fast result differs from its scalar reference: the run stops.
struct ReferenceMismatch: Error, CustomStringConvertible {
    let what: String
    let index: Int
    let actual: Float
    let expected: Double
    var description: String {
        "\(what): element \(index) is \(actual), the scalar reference gives \(expected); refusing to time a wrong kernel"
    }
}

/// The golden README's rule for layer outputs, |a − b| ≤ 1e-4·max|b| + 1e-4·|b|, with the
/// absolute part loosened from 1e-5 to 1e-4 because sums here run over up to 9·1024 terms.
func checkClose(_ what: String, actual: [Float], expected: [Double], indices: [Int]? = nil) throws {
    precondition(actual.count == expected.count, "\(what): \(actual.count) values against \(expected.count)")
    let scale = expected.reduce(0) { max($0, abs($1)) }
    for i in actual.indices where abs(Double(actual[i]) - expected[i]) > 1e-4 * scale + 1e-4 * abs(expected[i]) {
        throw ReferenceMismatch(what: what, index: indices?[i] ?? i, actual: actual[i], expected: expected[i])
    }
}

/// `count` indices spread evenly over 0..<n, first and last included.
func spreadSamples(_ count: Int, in n: Int) -> [Int] {
    count >= n ? Array(0..<n) : (0..<count).map { $0 * (n - 1) / max(1, count - 1) }
}

/// Checks `output` of a standard (groups 1) convolution of `input` with `weight`
/// [Cout, Cin, K, K] against a direct convolution accumulated in Double, at a few
/// output channels and images (all pixels of each).
func checkDirectConvolution(_ what: String, input: FeatureMap, weight: UnsafePointer<Float>,
                            geometry: ConvGeometry, output: FeatureMap) throws {
    // N batch, C channels, H×W input, K kernel, F×F' output
    let x = input.shape, y = output.shape, k = geometry.kernelSize
    precondition(y == geometry.outputShape(x, outChannels: y.channels), "\(what): output \(y) for input \(x)")
    var actual: [Float] = [], expected: [Double] = [], indices: [Int] = []
    for co in spreadSamples(4, in: y.channels) {
        for n in spreadSamples(3, in: x.batch) {
            for oy in 0..<y.height {
                for ox in 0..<y.width {
                    var sum = 0.0
                    for ci in 0..<x.channels {
                        for a in geometry.validTaps(output: oy, inputSize: x.height) {
                            for b in geometry.validTaps(output: ox, inputSize: x.width) {
                                let iy = oy * geometry.stride - geometry.padding + a
                                let ix = ox * geometry.stride - geometry.padding + b
                                sum += Double(weight[((co * x.channels + ci) * k + a) * k + b])
                                    * Double(input.data[((ci * x.height + iy) * x.width + ix) * x.batch + n])
                            }
                        }
                    }
                    let index = ((co * y.height + oy) * y.width + ox) * y.batch + n
                    actual.append(output.data[index])
                    expected.append(sum)
                    indices.append(index)
                }
            }
        }
    }
    try checkClose(what, actual: actual, expected: expected, indices: indices)
}

/// Checks a depthwise layer's training forward and backward against its scalar twins
/// (DepthwiseConv2d.referenceForward / referenceBackward) on the whole tensors.
/// Leaves the layer's weight gradient zeroed.
func checkDepthwise(_ what: String, layer: DepthwiseConv2d, input: FeatureMap, gradOutput: FeatureMap) throws {
    let inputValues = Array(input.buffer), weights = layer.weight.value.array
    let output = layer.forward(input, training: true)
    let reference = DepthwiseConv2d.referenceForward(input: inputValues, shape: input.shape, weight: weights,
                                                     geometry: layer.geometry)
    try checkClose(what + " depthwise forward", actual: Array(output.buffer), expected: reference.map(Double.init))
    layer.weight.zeroGrad()
    let gradInput = layer.backward(gradOutput)
    let twin = DepthwiseConv2d.referenceBackward(input: inputValues, shape: input.shape, weight: weights,
                                                 gradOutput: Array(gradOutput.buffer), geometry: layer.geometry)
    try checkClose(what + " depthwise ∂input", actual: Array(gradInput.buffer), expected: twin.gradInput.map(Double.init))
    try checkClose(what + " depthwise ∂weight", actual: layer.weight.grad.array, expected: twin.gradWeight.map(Double.init))
    layer.weight.zeroGrad()
}
