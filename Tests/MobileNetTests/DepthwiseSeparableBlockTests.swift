import Testing
@testable import MobileNet

/// The block's fused training path (depthwise conv and its BatchNorm channel by channel in
/// one loop) against its four layers run one after the other.
@Suite struct DepthwiseSeparableBlockTests {
    /// Same bits: fusion only changes when each channel is computed, not how, so the
    /// output, ∂L/∂input, every gradient and the running statistics are identical (odd
    /// shape: 5 → 7 channels, stride 2, 9×9 images, batch 6).
    @Test func fusedTrainingStepEqualsTheLayersInTurn() {
        var rng = TestRNG(seed: 31)
        let fused = DepthwiseSeparableBlock(name: "", inChannels: 5, outChannels: 7, stride: 2)
        let layered = DepthwiseSeparableBlock(name: "", inChannels: 5, outChannels: 7, stride: 2)
        for (a, b) in zip(fused.namedLayers, layered.namedLayers) {
            randomize(a.layer.parameters, &rng)
            for (p, q) in zip(a.layer.parameters, b.layer.parameters) { q.value.copy(from: p.value) }
        }
        let input = randomFeatureMap(FeatureShape(channels: 5, height: 9, width: 9, batch: 6), &rng)
        let gradOutput = randomFeatureMap(FeatureShape(channels: 7, height: 5, width: 5, batch: 6), &rng)

        let fusedOutput = Array(fused.forward(input, training: true).buffer)
        let fusedGradInput = Array(fused.backward(gradOutput).buffer)
        var x = input
        for entry in layered.namedLayers { x = entry.layer.forward(x, training: true) }
        let layeredOutput = Array(x.buffer)
        var g = gradOutput
        for entry in layered.namedLayers.reversed() { g = entry.layer.backward(g) }
        let layeredGradInput = Array(g.buffer)

        #expect(fusedOutput.map(\.bitPattern) == layeredOutput.map(\.bitPattern))
        #expect(fusedGradInput.map(\.bitPattern) == layeredGradInput.map(\.bitPattern))
        for (a, b) in zip(fused.namedLayers, layered.namedLayers) {
            for (p, q) in zip(a.layer.parameters, b.layer.parameters) {
                #expect(p.grad.array.map(\.bitPattern) == q.grad.array.map(\.bitPattern), "grad \(a.name).\(p.name)")
            }
        }
        for (a, b) in [(fused.depthNorm, layered.depthNorm), (fused.pointNorm, layered.pointNorm)] {
            #expect(a.runningMean.array.map(\.bitPattern) == b.runningMean.array.map(\.bitPattern))
            #expect(a.runningVar.array.map(\.bitPattern) == b.runningVar.array.map(\.bitPattern))
            #expect(a.numBatchesTracked.value == 1 && b.numBatchesTracked.value == 1)
        }
    }
}
