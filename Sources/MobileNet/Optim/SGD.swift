/// Errors restoring optimizer state from a checkpoint.
public enum SGDError: Error, CustomStringConvertible, Equatable {
    case momentumBufferShape(parameter: String, index: Int, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .momentumBufferShape(let name, let index, let expected, let actual):
            return "momentum buffer for parameter \(index) ('\(name)') has shape \(actual), expected \(expected); the checkpoint belongs to another model."
        }
    }
}

/// Stochastic gradient descent with momentum, as
/// `torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov)`
/// (single-tensor CPU path), on float32 parameters. Per element, with `wd` the
/// parameter's weight decay and `m`, `d` the momentum and dampening in force:
///
///     g = grad + wd·p
///     if m ≠ 0:  buf = g at the parameter's first momentum step, else buf = m·buf + (1 − d)·g
///                g = nesterov ? g + m·buf : buf
///     p -= lr·g
///
/// `learningRate` and `momentum` are the param group's current values: a schedule
/// (``OneCycleLR/apply(to:)``) sets them before each step, and, as in PyTorch, a
/// momentum set this way is used even if the optimizer was built with momentum 0.
/// Momentum buffers are allocated lazily, once, on the first step with m ≠ 0.
/// Weight decay can be switched off per ``Parameter/Kind`` (e.g. BatchNorm and
/// depthwise weights, MobileNets §4); the reference recipe decays every parameter.
public final class SGD {
    /// The parameters updated, in the order the buffers are indexed.
    public let parameters: [Parameter]
    /// Step size (PyTorch's group["lr"]).
    public var learningRate: Double
    /// Momentum factor in force (PyTorch's group["momentum"]); 0 disables momentum.
    public var momentum: Double
    /// Dampening of the gradient added to the buffer (not applied on the first step).
    public let dampening: Double
    /// Use Nesterov momentum (Sutskever et al. 2013, PyTorch's formulation).
    public let nesterov: Bool
    /// Weight decay (L2 coefficient) of each parameter: `weightDecay`, or 0 for excluded kinds.
    public let weightDecays: [Double]
    /// The momentum buffer of each parameter (same shape), nil until its first step with
    /// momentum ≠ 0. Checkpoints save `momentumBuffers[i]` as `momentum_buffer.<name of parameters[i]>`.
    public private(set) var momentumBuffers: [Tensor?]

    /// - Parameters:
    ///   - excludingFromWeightDecay: parameter kinds that get weight decay 0.
    /// - Precondition: learningRate ≥ 0, momentum ≥ 0, weightDecay ≥ 0; nesterov needs
    ///   momentum > 0 and dampening 0 (PyTorch's checks).
    public init(
        parameters: [Parameter], learningRate: Double, momentum: Double = 0,
        dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
        excludingFromWeightDecay excluded: Set<Parameter.Kind> = []
    ) {
        precondition(learningRate >= 0, "expected learningRate ≥ 0, got \(learningRate)")
        precondition(momentum >= 0, "expected momentum ≥ 0, got \(momentum)")
        precondition(weightDecay >= 0, "expected weightDecay ≥ 0, got \(weightDecay)")
        precondition(!nesterov || (momentum > 0 && dampening == 0),
                     "Nesterov momentum requires a momentum and zero dampening, got momentum \(momentum), dampening \(dampening)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecays = parameters.map { excluded.contains($0.kind) ? 0 : weightDecay }
        self.momentumBuffers = Array(repeating: nil, count: parameters.count)
    }

    /// Sets every parameter's gradient to zero, as optimizer.zero_grad(set_to_none=False).
    public func zeroGrad() {
        for parameter in parameters { parameter.zeroGrad() }
    }

    /// Whether every gradient element is finite (no NaN or ±inf): a cheap check before
    /// ``step()`` so training can stop instead of carrying NaN into the weights.
    public func gradientsAreFinite() -> Bool {
        parameters.allSatisfy { Self.allFinite($0.grad.data, count: $0.grad.count) }
    }

    /// Whether `count` floats are all finite: x − x is 0 for finite x and NaN for NaN or
    /// ±inf, and a sum keeps any NaN; summed in 16 lanes (order is irrelevant to the answer).
    static func allFinite(_ values: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        var probe = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self)
            probe += v - v
            i += 16
        }
        var tail: Float = 0
        while i < count {
            tail += values[i] - values[i]
            i += 1
        }
        return probe == SIMD16<Float>() && tail == 0
    }

    /// Replaces parameter `index`'s momentum buffer with a copy of `values` (checkpoint
    /// resume), allocating it if the optimizer has none yet.
    /// - Throws: ``SGDError/momentumBufferShape(parameter:index:expected:actual:)`` if
    ///   `values` does not have the parameter's shape.
    public func restoreMomentumBuffer(at index: Int, from values: Tensor) throws {
        let parameter = parameters[index]
        guard values.shape == parameter.value.shape else {
            throw SGDError.momentumBufferShape(parameter: parameter.name, index: index,
                                               expected: parameter.value.shape, actual: values.shape)
        }
        let buffer = momentumBuffers[index] ?? Tensor(shape: values.shape)
        buffer.copy(from: values)
        momentumBuffers[index] = buffer
    }

    /// Tensors at least this long are updated in parallel chunks; smaller ones inline.
    static let parallelThreshold = 1 << 14

    /// One update of every parameter with the current `learningRate` and `momentum`
    /// (optimizer.step()). Allocates only the momentum buffers, on the first step with
    /// momentum ≠ 0. Elementwise, so the result does not depend on the thread count.
    public func step() {
        let momentum = Float(momentum)
        let step = Float(-learningRate)
        let gradScale = Float(1 - dampening)
        for (index, parameter) in parameters.enumerated() {
            var firstMomentumStep = false
            if momentum != 0 && momentumBuffers[index] == nil {
                momentumBuffers[index] = Tensor(shape: parameter.value.shape)
                firstMomentumStep = true
            }
            let kernel = Update(
                value: SendablePointer(parameter.value.data), grad: SendablePointer(parameter.grad.data),
                buffer: momentumBuffers[index].map { SendablePointer($0.data) },
                weightDecay: Float(weightDecays[index]), momentum: momentum, gradScale: gradScale,
                step: step, nesterov: nesterov, firstMomentumStep: firstMomentumStep)
            let count = parameter.value.count
            if count >= Self.parallelThreshold {
                Parallel.forEachRange(count, kernel)
            } else {
                kernel.run(0..<count)
            }
        }
    }

    /// The update of one parameter over a range of elements (see the type's formula).
    struct Update: ParallelKernel {
        let value: SendablePointer<Float>
        let grad: SendablePointer<Float>
        /// nil when momentum is 0 and no buffer exists (or is used) this step.
        let buffer: SendablePointer<Float>?
        let weightDecay: Float
        let momentum: Float
        /// 1 − dampening.
        let gradScale: Float
        /// −learningRate.
        let step: Float
        let nesterov: Bool
        let firstMomentumStep: Bool

        func run(_ range: Range<Int>) {
            if momentum != 0, let buffer, !nesterov, !firstMomentumStep, gradScale == 1 {
                // The usual step, as a branch-free loop the compiler vectorises (same arithmetic as below).
                if weightDecay != 0 {
                    for i in range {
                        let b = buffer[i] * momentum + (grad[i] + weightDecay * value[i])
                        buffer[i] = b
                        value[i] += step * b
                    }
                } else {
                    for i in range {
                        let b = buffer[i] * momentum + grad[i]
                        buffer[i] = b
                        value[i] += step * b
                    }
                }
                return
            }
            for i in range {
                var g = grad[i]
                if weightDecay != 0 { g += weightDecay * value[i] }
                if momentum != 0, let buffer {
                    let b = firstMomentumStep ? g : buffer[i] * momentum + gradScale * g
                    buffer[i] = b
                    g = nesterov ? g + momentum * b : b
                }
                value[i] += step * g
            }
        }
    }
}
