import Foundation
import Testing
@testable import MobileNet

/// Runs one composite module case of layers.safetensors through a chain of layers:
/// loads parameters and buffers, checks the training output, the input and parameter
/// gradients of Σ Y·dY, the running statistics after the training forward, and the
/// eval output — all with the golden README's layers rule.
func checkGoldenModuleCase(
    _ caseName: String, layers: [(name: String, layer: any Layer)],
    file: SafetensorsFile = Fixtures.layers,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let key = { (suffix: String) in "\(caseName).\(suffix)" }
    // A file whose shapes do not fit the layers is a failed expectation, never a trap in
    // the layers' preconditions (which would end the whole test process).
    for (path, layer) in layers {
        for p in layer.parameters {
            let golden = try file.tensor(key("\(path).\(p.name)"))
            guard expectShape(golden.shape, p.value.shape, key("\(path).\(p.name)"), sourceLocation: sourceLocation) else { return }
            p.value.copy(from: golden)
        }
        for (name, value) in layer.buffers {
            switch value {
            case .float(let t):
                let golden = try file.tensor(key("\(path).\(name)"))
                guard expectShape(golden.shape, t.shape, key("\(path).\(name)"), sourceLocation: sourceLocation) else { return }
                t.copy(from: golden)
            case .int64(let s):
                let golden = try file.int64s(key("\(path).\(name)"))
                guard golden.count == 1 else {
                    Issue.record("\(key("\(path).\(name)")): \(golden.count) values, expected one", sourceLocation: sourceLocation)
                    return
                }
                s.value = golden[0]
            }
        }
    }
    func run(_ input: FeatureMap, training: Bool) -> FeatureMap {
        layers.reduce(input) { x, entry in entry.layer.forward(x, training: training) }
    }

    guard let input = try fixtureMap(file, key("input"), sourceLocation: sourceLocation),
          let gradOutput = try fixtureMap(file, key("grad_output"), sourceLocation: sourceLocation) else { return }
    // Logits [N, C] are a map of N × C × 1 × 1.
    let expectedOutput = try file.entry(key("output_train")).shape.padded(toRank: 4)
    guard expectShape(gradOutput.nchwShape, expectedOutput, key("grad_output"), sourceLocation: sourceLocation) else { return }
    let outputTrain = run(input, training: true)
    guard expectShape(outputTrain.nchwShape, expectedOutput, key("output_train"), sourceLocation: sourceLocation) else { return }
    expectAllClose(outputTrain.nchwArray(), try file.floats(key("output_train")), "\(caseName) output_train", sourceLocation: sourceLocation)

    for (_, layer) in layers { for p in layer.parameters { p.zeroGrad() } }
    let gradInput = layers.reversed().reduce(gradOutput) { g, entry in entry.layer.backward(g) }
    expectAllClose(gradInput.nchwArray(), try file.floats(key("grad.input")), "\(caseName) grad.input", sourceLocation: sourceLocation)
    for (path, layer) in layers {
        for p in layer.parameters {
            expectAllClose(p.grad.array, try file.floats(key("grad.\(path).\(p.name)")), "\(caseName) grad.\(path).\(p.name)", sourceLocation: sourceLocation)
        }
        for (name, value) in layer.buffers {
            let golden = key("after_train.\(path).\(name)")
            switch value {
            case .float(let t): expectAllClose(t.array, try file.floats(golden), golden, sourceLocation: sourceLocation)
            case .int64(let s): #expect(s.value == (try file.int64s(golden))[0], "\(golden)", sourceLocation: sourceLocation)
            }
        }
    }

    let outputEval = run(input, training: false)
    expectAllClose(outputEval.nchwArray(), try file.floats(key("output_eval")), "\(caseName) output_eval", sourceLocation: sourceLocation)
}

extension Array where Element == Int {
    /// The shape with trailing 1s up to `rank` dimensions.
    func padded(toRank rank: Int) -> [Int] { self + Array(repeating: 1, count: Swift.max(0, rank - count)) }
}

@Suite struct GoldenModuleTests {
    /// Channel counts and kernel size from the case's entry.0.weight [out, in, K, K].
    @Test func entryConvBatchNormReLU6MatchesPyTorch() throws {
        let weight = try Fixtures.layers.entry("entry.0.weight").shape
        guard expectRank(weight, 4, "entry.0.weight") else { return }
        let conv = Conv2d(inChannels: weight[1], outChannels: weight[0], kernelSize: weight[2], stride: 1, padding: weight[2] / 2, bias: false)
        let norm = BatchNorm2d(numFeatures: weight[0], fusedReLU6: true)
        try checkGoldenModuleCase("entry", layers: [("0", conv), ("1", norm)])
    }

    /// Channel counts from the case's pointConv.0.weight [out, in, 1, 1]; the stride is the
    /// case's (golden README).
    @Test(arguments: [("dsc_s1", 1), ("dsc_s2", 2)])
    func depthwiseSeparableBlockMatchesPyTorch(caseName: String, stride: Int) throws {
        let pointwise = try Fixtures.layers.entry("\(caseName).pointConv.0.weight").shape
        guard expectRank(pointwise, 4, "\(caseName).pointConv.0.weight") else { return }
        let block = DepthwiseSeparableBlock(name: "", inChannels: pointwise[1], outChannels: pointwise[0], stride: stride)
        try checkGoldenModuleCase(caseName, layers: block.namedLayers)
    }

    /// Layers that do not fit a case's tensors (a block of 4 → 5 channels against dsc_s1's
    /// 4 → 6) give a failed expectation naming the tensor, not a precondition trap that
    /// would end the test process.
    @Test func shapeMismatchIsAFailedExpectationNotATrap() throws {
        let pointwise = try Fixtures.layers.entry("dsc_s1.pointConv.0.weight").shape
        let block = DepthwiseSeparableBlock(name: "", inChannels: pointwise[1], outChannels: pointwise[0] + 1, stride: 1)
        withKnownIssue("the case's pointwise weight does not fit the block") {
            try checkGoldenModuleCase("dsc_s1", layers: block.namedLayers)
        }
    }
}
