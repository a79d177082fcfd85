import Testing
@testable import MobileNet

/// The GEMM lists that mobilenet-bench's bound section times alone are the calls the real
/// step and the real folded forward make: shapes, transposes, leading dimensions, beta and
/// route, in order (recorded on the calling thread by BLAS.recordingCalls).
@Suite struct ModelGEMMsTests {
    /// A real training step (TrainingSession.step, fused path) at quarter width on 24×24
    /// images, batch 6: the recorded calls equal trainingGEMMs, in order.
    @Test func trainingStepMakesTheListedCalls() throws {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 51)
        let session = try TrainingSession(model: model, options: TrainingOptions(), stepsPerEpoch: 4)
        var rng = TestRNG(seed: 52)
        let images = randomFeatureMap(FeatureShape(channels: 3, height: 24, width: 24, batch: 6), &rng)
        let targets: [Int32] = [0, 3, 9, 1, 1, 7]
        let recorded = try BLAS.recordingCalls {
            _ = try targets.withUnsafeBufferPointer { try session.step(images: images, targets: $0) }
        }
        let listed = model.trainingGEMMs(batch: 6, height: 24, width: 24)
        #expect(listed.count == 2 + 3 * model.blocks.count + 3)
        #expect(recorded == listed.map(\.call))
        #expect(listed.filter { $0.kind == StepProfiler.Kind.pointwise.label }.count == 3 * model.blocks.count)
    }

    /// Folded forwards on both paths: batch 1 and 5 (one piece, layers split over the
    /// threads), 32 (pieces of 16 when the engine cuts GEMMs into 2 blocks) and 41 (pieces
    /// of 20 and 21). Piece 0 runs on the calling thread; the others on workers (not
    /// recorded) or, with one engine thread, after it on the calling thread.
    @Test func foldedForwardMakesTheListedCalls() {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 53)
        let folded = model.makeInferenceModel()
        var rng = TestRNG(seed: 54)
        for batch in [1, 5, 32, 41] {
            let input = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: batch), &rng)
            let recorded = BLAS.recordingCalls { _ = folded.forward(input) }
            let pieces = folded.inferenceGEMMs(batch: batch, height: 32, width: 32).map { $0.map(\.call) }
            #expect(pieces.count == FoldedMobileNetV1.pieceCount(batch: batch))
            let piecesOnThisThread = recorded.count / max(1, pieces[0].count)
            #expect(piecesOnThisThread >= 1 && recorded == Array(pieces.prefix(piecesOnThisThread).joined()), "batch \(batch)")
        }
        // Every product is an OpenBLAS call at every batch size: a forward makes 14 (the 13
        // blocks' pointwise convs and the classifier). Batch 1 is one piece, so all 14 go
        // through BLAS.sgemm (split), the 8 on 4×4 and 2×2 maps (16 and 4 columns) and the
        // classifier (1 column) included; a batch of several pieces makes them one OpenBLAS
        // call each on its piece's thread (serial).
        #expect(folded.inferenceGEMMs(batch: 1, height: 32, width: 32).map { $0.map(\.call.route) }
                == [Array(repeating: .split, count: 14)])
        let pieces = folded.inferenceGEMMs(batch: 32, height: 32, width: 32)
        if pieces.count > 1 {
            #expect(pieces.map { $0.map(\.call.route) } == Array(repeating: Array(repeating: .serial, count: 14), count: pieces.count))
        }
    }

    /// The passes' multiply-adds are the network's, once forward and twice backward (the
    /// entry conv once: the images need no gradient; the depthwise convs once more,
    /// recomputed in backward), and their GEMMs are the listed ones.
    @Test func trainingPassesCountEveryProductOnce() {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.5, seed: 55)
        let passes = TrainingPass.passes(of: model, batch: 4, height: 32, width: 32)
        let cost = CostTable(model: model)
        let entry = cost.rows[0].multiplyAdds
        #expect(passes.reduce(0) { $0 + $1.multiplyAdds }
                == 4 * (2 * entry + 3 * (cost.multiplyAdds - entry) + cost.depthwiseMultiplyAdds))
        let gemms = model.trainingGEMMs(batch: 4, height: 32, width: 32).filter { $0.layer != "entry.0" }
        let gemmPasses = passes.filter { pass in gemms.contains { pass.name == "\($0.layer) \($0.pass.rawValue)" } }
        #expect(gemmPasses.map(\.bytes) == gemms.map(\.call.minimumBytes))
        #expect(passes.allSatisfy { $0.bytes > 0 })
    }
}
