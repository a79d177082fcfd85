import Foundation
import Testing
@testable import MobileNet

/// flops.json (golden, from the PyTorch model), decoded.
private struct GoldenFlops: Decodable {
    struct Toy: Decodable { let K, M, N, F, standard, separable: Int }
    struct Layer: Decodable {
        let name, kind: String
        let `in`, out: Int
        let stride, out_size: Int?
        let macs, params: Int?
        let depthwise_macs, pointwise_macs, standard_conv_macs: Int?
        let depthwise_params, pointwise_params, standard_conv_params: Int?
    }
    struct Network: Decodable {
        let layers: [Layer]
        let trainable_params: Int
    }
    let toy: Toy
    let mobilenet_v1_cifar10: Network

    static func load() throws -> GoldenFlops {
        try JSONDecoder().decode(GoldenFlops.self, from: Data(contentsOf: Fixtures.url("flops.json")))
    }
}

@Suite struct MultiplyAddCounterTests {
    @Test func toyCaseCountsTheSeedsExampleTermByTerm() throws {
        let golden = try GoldenFlops.load().toy
        let toy = ToyCase(kernelSize: golden.K, inChannels: golden.M, outChannels: golden.N, outputSize: golden.F)
        #expect(toy.standardMultiplyAdds == golden.standard)   // 2·2·3·8·5·5 = 2400
        #expect(toy.separableMultiplyAdds == golden.separable) // 300 + 600 = 900
        #expect(toy.depthwiseMultiplyAdds == 300)              // K·K·M·F·F = 2·2·3·5·5
        #expect(toy.pointwiseMultiplyAdds == 600)              // M·N·F·F = 3·8·5·5
        #expect(abs(toy.ratio - 0.375) < 1e-12)                // 900/2400 = 1/8 + 1/4
        #expect(toy.lines.contains { $0.contains("= 2400") } && toy.lines.contains { $0.contains("= 900") })
    }

    @Test func counterEqualsGoldenFlopsForEveryLayer() throws {
        let golden = try GoldenFlops.load().mobilenet_v1_cifar10
        let table = CostTable(widthMultiplier: 1)
        #expect(table.rows.map(\.name) == golden.layers.map(\.name))
        for (row, layer) in zip(table.rows, golden.layers) {
            #expect(row.kind.rawValue == layer.kind, "\(layer.name)")
            #expect(row.inChannels == layer.in && row.outChannels == layer.out, "\(layer.name)")
            if let stride = layer.stride { #expect(row.stride == stride, "\(layer.name)") }
            if let size = layer.out_size { #expect(row.outputHeight == size && row.outputWidth == size, "\(layer.name)") }
            if layer.kind == "dsc" {
                #expect(row.depthwiseMultiplyAdds == layer.depthwise_macs, "\(layer.name)")
                #expect(row.pointwiseMultiplyAdds == layer.pointwise_macs, "\(layer.name)")
                #expect(row.standardMultiplyAdds == layer.standard_conv_macs, "\(layer.name)")
                #expect(row.depthwiseParameters == layer.depthwise_params, "\(layer.name)")
                #expect(row.pointwiseParameters == layer.pointwise_params, "\(layer.name)")
                #expect(row.standardParameters == layer.standard_conv_params, "\(layer.name)")
                #expect(abs(row.ratio - row.paperRatio!) < 1e-12, "\(layer.name): stride s keeps F the same on both sides")
            } else {
                #expect(row.multiplyAdds == layer.macs, "\(layer.name)")
                #expect(row.parameters == layer.params, "\(layer.name)")
            }
        }
    }

    @Test func networkTotalsAreTheGoldenOnes() throws {
        let golden = try GoldenFlops.load().mobilenet_v1_cifar10
        let model = MobileNetV1(numClasses: 10)
        let table = CostTable(model: model)
        #expect(table.multiplyAdds == 46_354_432)
        #expect(table.parameters == 3_217_226)
        #expect(table.parameters == golden.trainable_params)
        #expect(table.parameters == model.parameterCount)
        #expect(table.batchNormParameters == 21_888)  // 2 · (32 + Σ blocks' in + out channels)
        let goldenMACs = golden.layers.reduce(0) { $0 + ($1.macs ?? 0) + ($1.depthwise_macs ?? 0) + ($1.pointwise_macs ?? 0) }
        #expect(table.multiplyAdds == goldenMACs)
    }

    /// The CIFAR variant keeps stride 1 at the entry, so at 224×224 every map is (224/32)² = 49×
    /// larger than at 32×32 (224 = 14·2⁴ divides evenly through the four stride-2 blocks); only the
    /// linear layer's 1024·10 stays. Total = (46,354,432 − 10,240)·49 + 10,240 = 2,270,875,648.
    @Test func imageSize224CountsPast32Bits() {
        let table = CostTable(widthMultiplier: 1, imageSize: 224)
        #expect(table.rows[0].multiplyAdds == 3 * 32 * 3 * 3 * 224 * 224)  // 43,352,064
        #expect(table.multiplyAdds == 2_270_875_648)
        #expect(table.multiplyAdds > Int(Int32.max))
        #expect(table.rows.last!.outputHeight == 1 && table.rows[table.rows.count - 2].outputHeight == 14)
        #expect(table.parameters == 3_217_226, "weights do not depend on the image size")
    }

    /// Independent count at α = 0.25: PyTorch's own weight shapes (the golden w025 model's
    /// `init.*` tensors) times each layer's output pixels (flops.json's out_size, which does
    /// not depend on α); parameters are the product of every trainable tensor's shape.
    @Test func widthQuarterMatchesGoldenModelShapes() throws {
        let golden = try GoldenFlops.load().mobilenet_v1_cifar10
        let file = Fixtures.network025
        func elements(_ name: String) throws -> Int { try file.entry("init." + name).shape.reduce(1, *) }
        let stages = MobileNetV1.blockTable.map(\.name)
        var expectedMACs = 0
        for layer in golden.layers {
            switch layer.kind {
            case "conv3x3": expectedMACs += try elements("entry.0.weight") * layer.out_size! * layer.out_size!
            case "linear": expectedMACs += try elements("linear.weight")
            default:
                let block = stages[Int(layer.name.dropFirst(3))! - 1]
                let pixels = layer.out_size! * layer.out_size!
                expectedMACs += try (elements(block + ".depthConv.0.weight") + elements(block + ".pointConv.0.weight")) * pixels
            }
        }
        let buffers = ["running_mean", "running_var", "num_batches_tracked"]
        let expectedParameters = try file.names.filter { name in
            name.hasPrefix("init.") && !buffers.contains { name.hasSuffix($0) }
        }.reduce(0) { try $0 + elements(String($1.dropFirst(5))) }

        let table = CostTable(widthMultiplier: 0.25)
        #expect(table.multiplyAdds == expectedMACs)
        #expect(table.parameters == expectedParameters)
        #expect(table.rows[1].inChannels == 8 && table.rows.last!.inChannels == 256)
    }

    @Test func reportTablesCarryEveryLayerAndEveryWidth() {
        let report = CostReport()
        let text = report.text()
        #expect(text.contains("46,354,432") && text.contains("3,217,226"))
        #expect(CostReport.layerTable(report.table).rows.count == 15)
        #expect(report.widthTables.map(\.widthMultiplier) == [1, 0.75, 0.5, 0.25])
        #expect(report.markdown().contains("| dsc13 | 1024→1024 |"))
    }
}
