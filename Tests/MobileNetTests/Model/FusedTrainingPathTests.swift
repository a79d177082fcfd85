import Testing
@testable import MobileNet

/// MobileNetV1's fused training path (between two GEMMs, BatchNorm → depthwise →
/// BatchNorm channel by channel in one loop) against its layers run one after the other.
@Suite struct FusedTrainingPathTests {
    /// Same bits: fusion only changes when each channel is computed, not how, so logits,
    /// every gradient and every running statistic are identical (quarter width, batch 4,
    /// 32×32, two training steps so the second uses updated running statistics).
    @Test func fusedStepsEqualTheLayersInTurn() {
        let fused = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 31)
        let layered = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 31)
        var rng = TestRNG(seed: 32)
        for _ in 0..<2 {
            let input = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: 4), &rng)
            let gradLogits = randomFeatureMap(FeatureShape(channels: 10, height: 1, width: 1, batch: 4), &rng)
            fused.zeroGrad()
            layered.zeroGrad()
            let fusedLogits = fused.forward(input, training: true).buffer.map(\.bitPattern)
            fused.backward(gradLogits)
            var x = input
            for entry in layered.namedLayers { x = entry.layer.forward(x, training: true) }
            var g = gradLogits
            for entry in layered.namedLayers.reversed() { g = entry.layer.backward(g) }
            #expect(fusedLogits == x.buffer.map(\.bitPattern))
            for (a, b) in zip(fused.namedParameters, layered.namedParameters) {
                #expect(a.parameter.grad.array.map(\.bitPattern) == b.parameter.grad.array.map(\.bitPattern), "grad \(a.name)")
            }
            for (a, b) in zip(fused.namedBuffers, layered.namedBuffers) {
                if case .float(let p) = a.value, case .float(let q) = b.value {
                    #expect(p.array.map(\.bitPattern) == q.array.map(\.bitPattern), "\(a.name)")
                }
            }
        }
    }
}
