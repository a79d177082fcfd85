import Testing
@testable import MobileNet

@Suite struct SGDTests {
    /// A parameter holding `values`, with gradient `grad`.
    func parameter(_ kind: Parameter.Kind, _ values: [Float], grad: [Float]) -> Parameter {
        let p = Parameter(name: "\(kind)", kind: kind, shape: [values.count])
        p.value.copy(from: Tensor(shape: [values.count], values: values))
        p.grad.copy(from: Tensor(shape: [grad.count], values: grad))
        return p
    }

    /// Golden `sgd` (built with momentum 0) and `sgd_nesterov` (0.9, nesterov): both get
    /// OneCycleLR's cycled momentum, so both use momentum buffers.
    @Test(arguments: [("sgd", false), ("sgd_nesterov", true)])
    func oneCycleDrivenStepsMatchPyTorch(_ name: String, _ nesterov: Bool) throws {
        let file = Fixtures.layers
        // The parameter's shape from param0, the number of steps from the grad<i> tensors.
        let initial = try file.tensor("\(name).param0")
        let steps = file.names.filter { $0.hasPrefix("\(name).grad") }.count
        guard steps >= 1 else {
            Issue.record("\(name): no grad<i> tensors in layers.safetensors")
            return
        }
        let weight = Parameter(name: "weight", kind: .linearWeight, shape: initial.shape)
        weight.value.copy(from: initial)
        let optimizer = SGD(parameters: [weight], learningRate: 1.0, momentum: nesterov ? 0.9 : 0,
                            weightDecay: 5e-4, nesterov: nesterov)
        var schedule = try OneCycleLR(maxLearningRate: 0.1, totalSteps: 10, pctStart: 0.3,
                                      divFactor: 25, finalDivFactor: 1e4)
        for i in 0..<steps {
            let grad = try file.tensor("\(name).grad\(i)")
            guard expectShape(grad.shape, initial.shape, "\(name).grad\(i)") else { return }
            schedule.apply(to: optimizer)
            expectRelativelyClose(optimizer.learningRate, try file.doubles("\(name).lr\(i)")[0], "\(name) lr\(i)")
            expectRelativelyClose(optimizer.momentum, try file.doubles("\(name).momentum\(i)")[0], "\(name) momentum\(i)")
            weight.grad.copy(from: grad)
            optimizer.step()
            try schedule.step()
            expectAllClose(weight.value.array, try file.floats("\(name).param\(i + 1)"), "\(name) param\(i + 1)")
            let buffer = try #require(optimizer.momentumBuffers[0])
            expectAllClose(buffer.array, try file.floats("\(name).momentum_buffer\(i + 1)"), "\(name) momentum_buffer\(i + 1)")
        }
    }

    @Test func excludedKindsGetNoWeightDecay() {
        let conv = parameter(.convolutionWeight, [1, -2], grad: [0.5, 0.25])
        let gamma = parameter(.batchNormWeight, [1, -2], grad: [0.5, 0.25])
        let optimizer = SGD(parameters: [conv, gamma], learningRate: 0.1, weightDecay: 0.1,
                            excludingFromWeightDecay: [.batchNormWeight, .depthwiseWeight])
        #expect(optimizer.weightDecays == [0.1, 0])
        optimizer.step()
        // p − lr·(g + wd·p): 1 − 0.1·(0.5 + 0.1) = 0.94, −2 − 0.1·(0.25 − 0.2) = −2.005.
        expectAllClose(conv.value.array, [0.94, -2.005], "decayed")
        // p − lr·g: 1 − 0.05 = 0.95, −2 − 0.025 = −2.025.
        expectAllClose(gamma.value.array, [0.95, -2.025], "not decayed")
        #expect(optimizer.momentumBuffers.allSatisfy { $0 == nil }, "momentum 0 allocates no buffer")
    }

    @Test func dampeningScalesOnlyLaterGradients() {
        let p = parameter(.linearWeight, [1], grad: [2])
        let optimizer = SGD(parameters: [p], learningRate: 1, momentum: 0.5, dampening: 0.25)
        optimizer.step()
        // First step: buf = g = 2 (undampened); p = 1 − 2 = −1.
        expectAllClose(p.value.array, [-1], "after step 1")
        p.grad.copy(from: Tensor(shape: [1], values: [4]))
        optimizer.step()
        // buf = 0.5·2 + 0.75·4 = 4; p = −1 − 4 = −5.
        expectAllClose(optimizer.momentumBuffers[0]!.array, [4], "buffer after step 2")
        expectAllClose(p.value.array, [-5], "after step 2")
    }

    @Test func bufferIsCreatedOnFirstMomentumStepAndKeptWhenMomentumIsZero() {
        let p = parameter(.bias, [0], grad: [1])
        let optimizer = SGD(parameters: [p], learningRate: 1)
        optimizer.step()
        #expect(optimizer.momentumBuffers[0] == nil)
        expectAllClose(p.value.array, [-1], "plain step")
        optimizer.momentum = 0.5
        optimizer.step()
        // The first momentum step stores the gradient itself: buf = 1, p = −2.
        expectAllClose(optimizer.momentumBuffers[0]!.array, [1], "first buffer")
        expectAllClose(p.value.array, [-2], "first momentum step")
        optimizer.momentum = 0
        optimizer.step()
        // Momentum 0 skips the buffer (kept, not updated), as PyTorch: p = −3.
        expectAllClose(optimizer.momentumBuffers[0]!.array, [1], "untouched buffer")
        expectAllClose(p.value.array, [-3], "plain step again")
    }

    @Test func restoredBufferContinuesMomentum() throws {
        let p = parameter(.linearWeight, [1, 1], grad: [1, -1])
        let optimizer = SGD(parameters: [p], learningRate: 0.5, momentum: 0.9)
        try optimizer.restoreMomentumBuffer(at: 0, from: Tensor(shape: [2], values: [2, 4]))
        optimizer.step()
        // buf = 0.9·[2, 4] + [1, −1] = [2.8, 2.6]; p = 1 − 0.5·buf = [−0.4, −0.3].
        expectAllClose(optimizer.momentumBuffers[0]!.array, [2.8, 2.6], "buffer")
        expectAllClose(p.value.array, [-0.4, -0.3], "param")
        #expect(throws: SGDError.momentumBufferShape(parameter: "linearWeight", index: 0, expected: [2], actual: [3])) {
            try optimizer.restoreMomentumBuffer(at: 0, from: Tensor(shape: [3]))
        }
    }

    @Test func largeTensorUpdateMatchesPerElementFormula() {
        // Above the parallel threshold, with a count not divisible by the thread count.
        let count = SGD.parallelThreshold * 2 + 3
        var rng = TestRNG(seed: 7)
        let values = rng.floats(count), grads = rng.floats(count)
        let p = parameter(.convolutionWeight, values, grad: grads)
        let optimizer = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true)
        optimizer.step()
        // First step, nesterov: g' = g + wd·p, buf = g', p −= lr·(g' + m·g') = lr·1.9·g'.
        let expected: [Float] = (0..<count).map { i in
            let decayed: Float = grads[i] + 1e-2 * values[i]
            return values[i] - 0.19 * decayed
        }
        expectAllClose(p.value.array, expected, "parallel update")
    }

    @Test func nonFiniteGradientIsDetectedAndZeroGradClearsIt() {
        let a = parameter(.linearWeight, [0, 0, 0], grad: [1, -2, 3])
        let b = parameter(.bias, [0, 0], grad: [0.5, 0])
        let optimizer = SGD(parameters: [a, b], learningRate: 0.1)
        #expect(optimizer.gradientsAreFinite())
        for bad in [Float.nan, .infinity, -.infinity] {
            b.grad.data[1] = bad
            #expect(!optimizer.gradientsAreFinite(), "grad \(bad)")
        }
        optimizer.zeroGrad()
        #expect(a.grad.array.allSatisfy { $0 == 0 } && b.grad.array.allSatisfy { $0 == 0 })
        #expect(optimizer.gradientsAreFinite())
    }
}
