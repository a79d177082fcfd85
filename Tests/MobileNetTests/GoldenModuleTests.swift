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
    for (path, layer) in layers {
        for p in layer.parameters {
            p.value.copy(from: try file.tensor(key("\(path).\(p.name)")))
        }
        for (name, value) in layer.buffers {
            switch value {
            case .float(let t): t.copy(from: try file.tensor(key("\(path).\(name)")))
            case .int64(let s): s.value = try file.int64s(key("\(path).\(name)"))[0]
            }
        }
    }
    func map(_ name: String) throws -> FeatureMap {
        let shape = try file.entry(key(name)).shape
        let s = shape.count == 2
            ? FeatureShape(channels: shape[1], height: 1, width: 1, batch: shape[0])
            : FeatureShape(channels: shape[1], height: shape[2], width: shape[3], batch: shape[0])
        return FeatureMap(nchw: try file.floats(key(name)), shape: s)
    }
    func run(_ input: FeatureMap, training: Bool) -> FeatureMap {
        layers.reduce(input) { x, entry in entry.layer.forward(x, training: training) }
    }

    let input = try map("input")
    let outputTrain = run(input, training: true)
    expectAllClose(outputTrain.nchwArray(), try file.floats(key("output_train")), "\(caseName) output_train", sourceLocation: sourceLocation)

    for (_, layer) in layers { for p in layer.parameters { p.zeroGrad() } }
    let gradInput = layers.reversed().reduce(try map("grad_output")) { g, entry in entry.layer.backward(g) }
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

@Suite struct GoldenModuleTests {
    @Test func entryConvBatchNormReLU6MatchesPyTorch() throws {
        let conv = Conv2d(inChannels: 3, outChannels: 8, kernelSize: 3, stride: 1, padding: 1, bias: false)
        let norm = BatchNorm2d(numFeatures: 8, fusedReLU6: true)
        try checkGoldenModuleCase("entry", layers: [("0", conv), ("1", norm)])
    }

    @Test(arguments: [("dsc_s1", 1), ("dsc_s2", 2)])
    func depthwiseSeparableBlockMatchesPyTorch(caseName: String, stride: Int) throws {
        let block = DepthwiseSeparableBlock(name: "", inChannels: 4, outChannels: 6, stride: stride)
        try checkGoldenModuleCase(caseName, layers: block.namedLayers)
    }
}
