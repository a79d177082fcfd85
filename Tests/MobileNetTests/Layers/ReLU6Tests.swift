import Testing
@testable import MobileNet

@Suite struct ReLU6Tests {
    @Test func matchesPyTorchAtTheKinks() throws {
        let file = Fixtures.layers
        let relu = ReLU6()
        guard let input = try fixtureMap(file, "relu6.input"), let gradOutput = try fixtureMap(file, "relu6.grad_output"),
              expectShape(gradOutput.nchwShape, input.nchwShape, "relu6.grad_output") else { return }
        expectAllClose(relu.forward(input, training: true).nchwArray(), try file.floats("relu6.output_train"), "output_train")
        // The input holds exactly 0 and 6: PyTorch passes no gradient there.
        expectAllClose(relu.backward(gradOutput).nchwArray(), try file.floats("relu6.grad.input"), "grad.input")
        expectAllClose(relu.forward(input, training: false).nchwArray(), try file.floats("relu6.output_eval"), "output_eval")
    }

    @Test func raggedShapeMatchesScalarDefinition() {
        // 3·5·7·3 = 315 values: many full 16-lane vectors, a partial one, split over threads.
        var rng = TestRNG(seed: 21)
        let shape = FeatureShape(channels: 3, height: 5, width: 7, batch: 3)
        let input = FeatureMap(shape: shape), gradOutput = FeatureMap(shape: shape)
        for i in 0..<shape.count {
            input.data[i] = i % 9 == 0 ? Float(i % 2) * 6 : rng.uniform(-3, 9)
            gradOutput.data[i] = rng.uniform()
        }
        let relu = ReLU6()
        let output = Array(relu.forward(input, training: true).buffer)
        let gradInput = Array(relu.backward(gradOutput).buffer)
        let x = Array(input.buffer), dy = Array(gradOutput.buffer)
        expectAllClose(output, x.map { min(max($0, 0), 6) }, "output")
        expectAllClose(gradInput, zip(x, dy).map { $0 > 0 && $0 < 6 ? $1 : 0 }, "grad")
    }
}
