import Testing
@testable import MobileNet

/// The classifier head: AdaptiveAvgPool2d(1) → Flatten → Linear.
@Suite struct HeadTests {
    @Test func poolAndLinearMatchPyTorch() throws {
        let file = Fixtures.layers
        // Features and classes from head.2.weight [classes, features].
        let weight = try file.tensor("head.2.weight")
        guard expectRank(weight.shape, 2, "head.2.weight") else { return }
        let pool = AdaptiveAvgPool2d(), linear = Linear(inFeatures: weight.shape[1], outFeatures: weight.shape[0])
        linear.weight.value.copy(from: weight)
        let bias = try file.tensor("head.2.bias")
        guard expectShape(bias.shape, linear.bias.value.shape, "head.2.bias") else { return }
        linear.bias.value.copy(from: bias)
        guard let input = try fixtureMap(file, "head.input"), let gradOutput = try fixtureMap(file, "head.grad_output"),
              expectShape([input.shape.channels], [weight.shape[1]], "head.input channels") else { return }
        let outputShape = FeatureShape(channels: weight.shape[0], height: 1, width: 1, batch: input.shape.batch)
        guard expectShape(gradOutput.nchwShape, [input.shape.batch, weight.shape[0], 1, 1], "head.grad_output") else { return }

        let output = linear.forward(pool.forward(input, training: true), training: true)
        #expect(output.shape == outputShape)
        expectAllClose(output.nchwArray(), try file.floats("head.output_train"), "output_train")
        let gradInput = pool.backward(linear.backward(gradOutput))
        expectAllClose(gradInput.nchwArray(), try file.floats("head.grad.input"), "grad.input")
        expectAllClose(linear.weight.grad.array, try file.floats("head.grad.2.weight"), "grad.2.weight")
        expectAllClose(linear.bias.grad.array, try file.floats("head.grad.2.bias"), "grad.2.bias")
        expectAllClose(linear.forward(pool.forward(input, training: false), training: false).nchwArray(),
                       try file.floats("head.output_eval"), "output_eval")
    }

    @Test func linearGradientsMatchFiniteDifferences() {
        var rng = TestRNG(seed: 31)
        let linear = Linear(inFeatures: 7, outFeatures: 5)
        var generator = SeededGenerator(seed: 3)
        linear.resetParameters(using: &generator)
        // A 7-feature input given as [7, 1, 1, 9]; the batch of 9 is not a multiple of any vector width.
        let input = BatchNorm2dTests.randomMap(FeatureShape(channels: 7, height: 1, width: 1, batch: 9), &rng)
        let gradOutput = BatchNorm2dTests.randomMap(FeatureShape(channels: 5, height: 1, width: 1, batch: 9), &rng)
        _ = linear.forward(input, training: true)
        let gradInput = Array(linear.backward(gradOutput).buffer)
        let loss = { BatchNorm2dTests.dot(linear.forward(input, training: true), gradOutput) }
        expectGradientMatchesFiniteDifferences(values: input.data, count: input.shape.count, analytic: gradInput, "input", loss: loss)
        expectGradientMatchesFiniteDifferences(values: linear.weight.value.data, count: 35, analytic: linear.weight.grad.array, "weight", loss: loss)
        expectGradientMatchesFiniteDifferences(values: linear.bias.value.data, count: 5, analytic: linear.bias.grad.array, "bias", loss: loss)
    }

    @Test func poolGradientMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 32)
        let pool = AdaptiveAvgPool2d()
        let input = BatchNorm2dTests.randomMap(FeatureShape(channels: 3, height: 3, width: 2, batch: 5), &rng)
        let gradOutput = BatchNorm2dTests.randomMap(FeatureShape(channels: 3, height: 1, width: 1, batch: 5), &rng)
        _ = pool.forward(input, training: true)
        let gradInput = Array(pool.backward(gradOutput).buffer)
        expectGradientMatchesFiniteDifferences(values: input.data, count: input.shape.count, analytic: gradInput, "input") {
            BatchNorm2dTests.dot(pool.forward(input, training: true), gradOutput)
        }
    }

    @Test func linearInitialisationIsUniformWithPyTorchsBound() {
        let linear = Linear(inFeatures: 64, outFeatures: 40)
        var generator = SeededGenerator(seed: 7)
        linear.resetParameters(using: &generator)
        let bound: Float = 1 / 8
        for values in [linear.weight.value.array, linear.bias.value.array] {
            #expect(values.allSatisfy { abs($0) <= bound })
            #expect(values.contains { $0 > bound / 2 } && values.contains { $0 < -bound / 2 })
        }
        // U(−b, b) has standard deviation b/√3; 2,560 samples pin it to a few percent.
        let weights = linear.weight.value.array.map(Double.init)
        let std = (weights.reduce(0) { $0 + $1 * $1 } / Double(weights.count)).squareRoot()
        #expect(abs(std / (Double(bound) / 3.0.squareRoot()) - 1) < 0.05, "weight std \(std)")
    }
}
