import Testing
@testable import MobileNet

/// The BatchNorm-folded inference network against the model's own eval-mode forward.
@Suite struct FoldedMobileNetV1Tests {
    /// A quarter-width network whose BatchNorms have non-trivial γ, β and running
    /// statistics (so folding changes every weight), random weights elsewhere.
    static func model(seed: UInt64) -> MobileNetV1 {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: seed)
        var rng = TestRNG(seed: seed + 100)
        for (_, layer) in model.namedLayers {
            guard let norm = layer as? BatchNorm2d else { continue }
            for c in 0..<norm.numFeatures {
                norm.weight.value.data[c] = rng.uniform(0.5, 1.5)
                norm.bias.value.data[c] = rng.uniform(-0.5, 0.5)
                norm.runningMean.data[c] = rng.uniform(-0.3, 0.3)
                norm.runningVar.data[c] = rng.uniform(0.05, 0.5)
            }
        }
        return model
    }

    /// Logits agree with eval mode within the whole-network rule of the golden README
    /// (1e-4·max|b| + 1e-4·|b|): folding only reorders float roundings. Two batch sizes
    /// in a row also check that the planned buffers are reshaped, not reused stale.
    @Test func logitsMatchTheEvalModeForward() {
        let model = Self.model(seed: 21)
        let folded = model.makeInferenceModel()
        var rng = TestRNG(seed: 22)
        for batch in [5, 3] {
            let input = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: batch), &rng)
            let expected = model.forward(input, training: false).nchwArray()
            let actual = folded.forward(input).nchwArray()
            expectAllClose(actual, expected, atolScale: 1e-4, rtol: 1e-4, "logits at batch \(batch)")
        }
    }

    /// Folding one conv + BN by hand: W' = s·W, b' = β − s·μ with s = γ/√(σ² + eps).
    @Test func foldingScalesWeightsAndShiftsBias() {
        let weight = Tensor(shape: [2, 1, 1, 2], values: [1, -2, 3, 4])
        let norm = BatchNorm2d(numFeatures: 2)
        norm.weight.value.data[0] = 3
        norm.weight.value.data[1] = 0.5
        norm.bias.value.data[0] = 1
        norm.bias.value.data[1] = -1
        norm.runningMean.data[0] = 0.5
        norm.runningMean.data[1] = -2
        norm.runningVar.data[0] = 4 - 1e-5
        norm.runningVar.data[1] = 0.25 - 1e-5
        // σ² + eps = 4 and 0.25, so s = (3/2, 0.5/0.5) = (1.5, 1);
        // b' = (1 − 1.5·0.5, −1 − 1·(−2)) = (0.25, 1).
        let folded = FoldedMobileNetV1.fold(weight, norm)
        expectAllClose(folded.weight.array, [1.5, -3, 3, 4], "weight")
        expectAllClose(folded.bias.array, [0.25, 1], "bias")
    }
}
