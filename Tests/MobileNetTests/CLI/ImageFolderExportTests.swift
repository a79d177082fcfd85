import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `export` of a model trained on an image folder: the ONNX metadata and the input shape
/// carry the run's classes, image size, mean and std, and an exported safetensors file
/// keeps the description, so `predict` needs no flags with it either.
@Suite struct ImageFolderExportTests {
    @Test func exportWritesTheRunsDescription() throws {
        try CIFARFixture.withFolder { root in
            let setup = try PredictCommandTests.trainedRun(root)
            try ExportCommandTests.command(["--checkpoint", root + "/ck", "--output", root + "/m.onnx"]).run()
            let graph = try ONNXReadBack(Array(try Data(contentsOf: URL(fileURLWithPath: root + "/m.onnx"))))
            #expect(graph.inputs.first?.shape == ["N", "3", "16", "16"] && graph.outputs.first?.shape == ["N", "3"])
            let expected = ONNXModelMetadata(classNames: ["ant", "bee", "cow"], imageSize: 16, mean: setup.data.mean, std: setup.data.std)
            let properties = expected.properties(widthMultiplier: 0.125, producer: MobileNetV1.onnxProducer)
            #expect(graph.metadata == Dictionary(uniqueKeysWithValues: properties.map { ($0.key, $0.value) }))
            #expect(graph.metadata["image_size"] == "16" && graph.metadata["class_names"] == #"["ant","bee","cow"]"#)
            #expect(try JSONDecoder().decode([Float].self, from: Data(graph.metadata["mean"]!.utf8)) == setup.data.mean)

            try ExportCommandTests.command(["--checkpoint", root + "/ck", "--output", root + "/m.safetensors"]).run()
            let exported = try SafetensorsFile(contentsOfFile: root + "/m.safetensors")
            #expect(CheckpointDataset.recorded(in: exported)?.evaluationAugmentation == setup.run.loop.testLoader?.configuration.augmentation)
            // An ONNX file exported from that file alone says the same.
            try ExportCommandTests.command(["--checkpoint", root + "/m.safetensors", "--output", root + "/again.onnx"]).run()
            let again = try ONNXReadBack(Array(try Data(contentsOf: URL(fileURLWithPath: root + "/again.onnx"))))
            #expect(again.metadata == graph.metadata)
        }
    }
}
