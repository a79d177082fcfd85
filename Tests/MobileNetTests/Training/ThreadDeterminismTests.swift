import Testing
@testable import MobileNet

/// Training gives the same bits whatever the thread count (1 or 2): every parallel loop
/// splits work by index, never a reduction by chunk, and large GEMMs are cut into the same
/// blocks of C for 1 and 2 threads (BLAS.sgemm), never along k.
@Suite struct ThreadDeterminismTests {
    /// Two SGD + OneCycleLR steps (the first and a later momentum update) of the half-width network on random 32×32 images
    /// (batch 8): at α = 0.5 every pointwise GEMM, forward and backward, is large enough
    /// to be cut into blocks (≥ BLAS.parallelMultiplyAdds), so the blocked path is exercised.
    /// Parameters, running statistics and momentum buffers must match bit for bit.
    @Test func trainingStepsAreBitwiseIdenticalWithOneAndTwoThreads() throws {
        let saved = Parallel.threadCount
        defer { setEngineThreads(saved) }
        let one = try trainedState(threads: 1), two = try trainedState(threads: 2)
        #expect(one.count == two.count)
        let differing = zip(one, two).filter { $0.1 != $1.1 }.map(\.0.0)
        #expect(differing.isEmpty, "tensors differing between 1 and 2 threads: \(differing.prefix(5))")
    }

    /// ``RandomTrainingRun/stateBits`` after two steps.
    func trainedState(threads: Int) throws -> [(String, [UInt32])] {
        setEngineThreads(threads)
        let run = try RandomTrainingRun(widthMultiplier: 0.5, seed: 11, stepsPerEpoch: 2)
        for _ in 0..<2 { try run.step() }
        return run.stateBits
    }
}

/// A seeded network and training session on one random batch (8 images, 32×32), for
/// tests of whole training steps.
struct RandomTrainingRun {
    let model: MobileNetV1
    let session: TrainingSession
    let images: FeatureMap
    let targets: [Int32]

    init(widthMultiplier: Double, seed: UInt64, stepsPerEpoch: Int) throws {
        var options = TrainingOptions()
        options.epochs = 1
        options.widthMultiplier = widthMultiplier
        model = MobileNetV1(numClasses: 10, widthMultiplier: widthMultiplier, seed: seed)
        session = try TrainingSession(model: model, options: options, stepsPerEpoch: stepsPerEpoch)
        var rng = TestRNG(seed: seed + 1)
        images = randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: 8), &rng)
        targets = (0..<8).map { _ in Int32(rng.next() % 10) }
    }

    /// One training step on the batch.
    @discardableResult
    func step() throws -> TrainingSession.StepResult {
        try targets.withUnsafeBufferPointer { try session.step(images: images, targets: $0) }
    }

    /// (name, bit patterns) of every parameter, float buffer and momentum buffer.
    var stateBits: [(String, [UInt32])] {
        var state = model.namedParameters.map { ($0.name, $0.parameter.value.array.map(\.bitPattern)) }
        for (name, value) in model.namedBuffers {
            if case .float(let tensor) = value { state.append((name, tensor.array.map(\.bitPattern))) }
        }
        for (index, buffer) in session.optimizer.momentumBuffers.enumerated() {
            state.append(("momentum_buffer.\(index)", buffer?.array.map(\.bitPattern) ?? []))
        }
        return state
    }
}
