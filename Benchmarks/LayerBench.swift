import MobileNet

/// Standard 3×3 convolution against the depthwise-separable pair for one distinct block
/// shape of the network, at one batch size. Times are medians in milliseconds; counts
/// are per image, from the multiply-add counter; FLOPs = 2 × multiply-adds.
struct LayerResult: Codable {
    /// The network's blocks of this shape, e.g. ["dsc7", …, "dsc11"], and a short label.
    let layers: [String]
    let label: String
    let inChannels: Int
    let outChannels: Int
    let stride: Int
    let inputSize: Int
    let outputSize: Int
    let batch: Int
    let standardMultiplyAdds: Int
    let separableMultiplyAdds: Int
    /// Standard ÷ separable multiply-adds (= 1 / (1/N + 1/K²)).
    let multiplyAddRatio: Double
    /// (a) Conv2d 3×3 via im2col + SGEMM: training-mode forward, and forward + backward.
    let standardForward: Timing
    let standardTraining: Timing
    /// (b) the block: depthwise, BN+ReLU6, pointwise, BN+ReLU6.
    let separableForward: Timing
    let separableTraining: Timing
    /// (b) without its BatchNorms: depthwise + pointwise only.
    let convolutionsForward: Timing
    let convolutionsTraining: Timing
    /// Standard ÷ separable (with BN+ReLU6) median time.
    let forwardTimeRatio: Double
    let trainingTimeRatio: Double
    /// Achieved GFLOP/s: forward = 2·MACs·N / time; forward + backward counts 3× the
    /// forward's multiply-adds (output, ∂input, ∂weight), BatchNorm not counted.
    let standardForwardGFLOPS: Double
    let standardTrainingGFLOPS: Double
    let separableForwardGFLOPS: Double
    let separableTrainingGFLOPS: Double
}

/// The network's `dsc` rows grouped by (in, out, stride, input size), in network order.
func distinctBlockShapes(_ table: CostTable) -> [[CostRow]] {
    var groups: [[CostRow]] = []
    for row in table.rows where row.kind == .dsc {
        if let i = groups.firstIndex(where: { g in
            g[0].inChannels == row.inChannels && g[0].outChannels == row.outChannels
                && g[0].stride == row.stride && g[0].inputHeight == row.inputHeight && g[0].inputWidth == row.inputWidth
        }) {
            groups[i].append(row)
        } else {
            groups.append([row])
        }
    }
    return groups
}

/// Training-mode forward through `layers` in order.
@discardableResult
func forward(_ layers: [any Layer], _ input: FeatureMap) -> FeatureMap {
    layers.reduce(input) { $1.forward($0, training: true) }
}

/// Backward through `layers` in reverse order.
@discardableResult
func backward(_ layers: [any Layer], _ gradOutput: FeatureMap) -> FeatureMap {
    layers.reversed().reduce(gradOutput) { $1.backward($0) }
}

/// A feature map of uniform values in [−1, 1).
func randomMap(_ shape: FeatureShape, _ generator: inout SeededGenerator) -> FeatureMap {
    let map = FeatureMap(shape: shape)
    for i in 0..<shape.count { map.data[i] = generator.uniform(-1, 1) }
    return map
}

/// Checks both sides of one shape against their scalar references, then times them.
/// - Throws: ``ReferenceMismatch`` before any timing when a result is wrong.
func benchmarkBlockShape(_ rows: [CostRow], batch: Int, repetitions: Repetitions) throws -> LayerResult {
    let row = rows[0]
    var generator = SeededGenerator(seed: UInt64(row.inChannels * 7919 + row.stride * 31 + batch))
    let block = DepthwiseSeparableBlock(name: "", inChannels: row.inChannels, outChannels: row.outChannels, stride: row.stride)
    block.depthwise.resetParameters(using: &generator)
    block.pointwise.resetParameters(using: &generator)
    let g = block.depthwise.geometry
    let standard = Conv2d(inChannels: row.inChannels, outChannels: row.outChannels, kernelSize: g.kernelSize,
                          stride: g.stride, padding: g.padding, bias: false)
    standard.resetParameters(using: &generator)

    let input = randomMap(FeatureShape(channels: row.inChannels, height: row.inputHeight, width: row.inputWidth, batch: batch),
                          &generator)
    let outputShape = g.outputShape(input.shape, outChannels: row.outChannels)
    let gradOutput = randomMap(outputShape, &generator)
    let label = blockLabel(rows)

    try checkDirectConvolution(label + " standard conv", input: input, weight: standard.weight.value.data,
                               geometry: g, output: standard.forward(input, training: true))
    _ = standard.backward(gradOutput)
    try checkDepthwise(label, layer: block.depthwise, input: input,
                       gradOutput: randomMap(g.outputShape(input.shape, outChannels: row.inChannels), &generator))
    let normalised = block.depthNorm.forward(block.depthwise.forward(input, training: true), training: true)
    try checkDirectConvolution(label + " pointwise", input: normalised, weight: block.pointwise.weight.value.data,
                               geometry: ConvGeometry(kernelSize: 1), output: block.pointwise.forward(normalised, training: true))

    let separable = block.namedLayers.map(\.layer)
    let convolutions: [any Layer] = [block.depthwise, block.pointwise]
    func time(_ layers: [any Layer]) -> (forward: Timing, training: Timing) {
        (measure(repetitions) { forward(layers, input) },
         measure(repetitions) { forward(layers, input); backward(layers, gradOutput) })
    }
    let standardTimes = time([standard]), separableTimes = time(separable), convolutionTimes = time(convolutions)

    let separableMACs = row.multiplyAdds
    func gflops(_ macs: Int, _ passes: Int, _ timing: Timing) -> Double {
        2 * Double(macs) * Double(batch) * Double(passes) / timing.medianSeconds / 1e9
    }
    return LayerResult(
        layers: rows.map(\.name), label: label, inChannels: row.inChannels, outChannels: row.outChannels,
        stride: row.stride, inputSize: row.inputHeight, outputSize: row.outputHeight, batch: batch,
        standardMultiplyAdds: row.standardMultiplyAdds, separableMultiplyAdds: separableMACs,
        multiplyAddRatio: Double(row.standardMultiplyAdds) / Double(separableMACs),
        standardForward: standardTimes.forward, standardTraining: standardTimes.training,
        separableForward: separableTimes.forward, separableTraining: separableTimes.training,
        convolutionsForward: convolutionTimes.forward, convolutionsTraining: convolutionTimes.training,
        forwardTimeRatio: standardTimes.forward.medianMilliseconds / separableTimes.forward.medianMilliseconds,
        trainingTimeRatio: standardTimes.training.medianMilliseconds / separableTimes.training.medianMilliseconds,
        standardForwardGFLOPS: gflops(row.standardMultiplyAdds, 1, standardTimes.forward),
        standardTrainingGFLOPS: gflops(row.standardMultiplyAdds, 3, standardTimes.training),
        separableForwardGFLOPS: gflops(separableMACs, 1, separableTimes.forward),
        separableTrainingGFLOPS: gflops(separableMACs, 3, separableTimes.training))
}

/// "dsc7–11 512→512 s1 4×4": the blocks of a shape, channels, stride and input size.
func blockLabel(_ rows: [CostRow]) -> String {
    let first = rows[0], names = rows.count == 1 ? first.name : "\(first.name)–\(rows.last!.name.dropFirst(3))"
    return "\(names) \(first.inChannels)→\(first.outChannels) s\(first.stride) \(first.inputHeight)×\(first.inputWidth)"
}
