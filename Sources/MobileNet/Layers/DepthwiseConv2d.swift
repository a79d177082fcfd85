/// Depthwise 2-D convolution: one K×K filter per channel (groups == channels), no bias.
///
/// Howard et al. 2017, MobileNets §3.1; equals
/// torch.nn.Conv2d(C, C, K, stride: s, padding: p, groups: C, bias: False).
/// - Input [C, H, W, N] (engine layout) → output [C, F, F', N], F = (H + 2p − K)/s + 1.
/// - Parameter "weight" [C, 1, K, K] (kind `.depthwiseWeight`).
/// - Cost: K·K·C·F·F' multiply-adds per image (``multiplyAdds(inputHeight:inputWidth:)``).
/// - The fast kernels (DepthwiseKernels.swift) are specified by the scalar twins
///   ``referenceForward(input:shape:weight:geometry:)`` and
///   ``referenceBackward(input:shape:weight:gradOutput:geometry:)``.
/// - Precondition (checked in release builds): the input has C channels and fits the kernel.
public final class DepthwiseConv2d: Layer {
    public let channels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter
    public var parameters: [Parameter] { [weight] }

    public var kernelSize: Int { geometry.kernelSize }
    public var stride: Int { geometry.stride }
    public var padding: Int { geometry.padding }

    /// The training forward's input (owned by the previous layer), read by backward; nil
    /// after a fused forward that read it from per-thread slots (its backward is given it again).
    private var input: FeatureMap?
    /// The input shape of the last training forward (nil before one, or after an eval forward).
    private(set) var trainedInputShape: FeatureShape?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    /// A zero-initialised layer; call ``resetParameters(using:)`` or load weights.
    public init(channels: Int, kernelSize: Int = 3, stride: Int = 1, padding: Int = 1) {
        precondition(channels >= 1, "expected at least one channel, got \(channels)")
        self.channels = channels
        self.geometry = ConvGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
        self.weight = Parameter(name: "weight", kind: .depthwiseWeight, shape: [channels, 1, kernelSize, kernelSize])
    }

    /// PyTorch's default init: weight ~ U(−1/√(K·K), 1/√(K·K)) (fan_in = 1·K·K).
    public func resetParameters(using generator: inout SeededGenerator) {
        resetConvolutionParameters(weight: weight, bias: nil, using: &generator)
    }

    /// Y[c, oy, ox, :] = Σ_{a,b} w[c, a, b] · X[c, oy·s − p + a, ox·s − p + b, :] (padding taps skipped).
    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        let (kernel, output) = forwardKernel(input, training: training)
        Parallel.forEachRange(channels, kernel)
        return output
    }

    /// Returns ∂L/∂X [C, H, W, N] and accumulates ∂L/∂w into `weight.grad` (+=).
    /// - Precondition: follows a `forward(_:training: true)`; gradOutput has the output's shape.
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        let (kernel, gradInput) = backwardKernel(gradOutput)
        Parallel.forEachRange(channels, kernel)
        return gradInput
    }

    /// The forward's per-channel kernel and output map (valid once the kernel has run over
    /// every channel), for a caller that fuses it with another per-channel loop.
    func forwardKernel(_ input: FeatureMap, training: Bool) -> (kernel: DepthwiseKernels.Forward, output: FeatureMap) {
        let result = forwardKernel(reading: ChannelMap(input), shape: input.shape, training: training)
        self.input = training ? input : nil
        return result
    }

    /// A forward kernel reading channel c of an input of `shape` from `input` (a whole map
    /// or per-thread slots a preceding stage of a fused loop writes, ``ChannelMap``); after
    /// a training forward from slots, backward needs the input given again
    /// (``backwardKernel(_:input:into:)``).
    func forwardKernel(reading input: ChannelMap, shape: FeatureShape, training: Bool)
        -> (kernel: DepthwiseKernels.Forward, output: FeatureMap) {
        precondition(shape.channels == channels, "expected \(channels) channels, got \(shape)")
        let output = FeatureMap.reuse(self.output, for: geometry.outputShape(shape, outChannels: channels))
        self.output = output
        self.input = nil
        trainedInputShape = training ? shape : nil
        let kernel = DepthwiseKernels.Forward(x: input, w: SendablePointer(weight.value.data),
                                              y: ChannelMap(output), shape: shape, geometry: geometry)
        return (kernel, output)
    }

    /// A training forward kernel reading channel c of an input of `shape` from `input` and
    /// writing its output channel to `output` (each a whole map or per-thread slots,
    /// ``ChannelMap``); the layer keeps neither: backward is given the input again, and a
    /// fused backward that needs the output recomputes it (``recomputeKernel(reading:into:)``).
    func trainingForwardKernel(reading input: ChannelMap, shape: FeatureShape, into output: ChannelMap) -> DepthwiseKernels.Forward {
        precondition(shape.channels == channels, "expected \(channels) channels, got \(shape)")
        self.input = nil
        trainedInputShape = shape
        return DepthwiseKernels.Forward(x: input, w: SendablePointer(weight.value.data), y: output, shape: shape, geometry: geometry)
    }

    /// The last training forward's output again from its input given in `input`, into
    /// `output`: the same kernel and weights, so the same bits.
    /// - Precondition: after a training forward; the weights unchanged since.
    func recomputeKernel(reading input: ChannelMap, into output: ChannelMap) -> DepthwiseKernels.Forward {
        guard let shape = trainedInputShape else { preconditionFailure("DepthwiseConv2d: nothing to recompute without a training forward") }
        return DepthwiseKernels.Forward(x: input, w: SendablePointer(weight.value.data), y: output, shape: shape, geometry: geometry)
    }

    /// The backward's per-channel kernel and gradInput map (see ``forwardKernel(_:training:)``);
    /// the gradient goes into `target` if given (not `gradOutput`), else into the layer's own map.
    func backwardKernel(_ gradOutput: FeatureMap, into target: FeatureMap? = nil)
        -> (kernel: DepthwiseKernels.Backward, gradInput: FeatureMap) {
        guard let input else { preconditionFailure("DepthwiseConv2d.backward needs a forward(_:training: true) first") }
        let expected = geometry.outputShape(input.shape, outChannels: channels)
        precondition(gradOutput.shape == expected, "expected gradOutput \(expected), got \(gradOutput.shape)")
        precondition(target !== gradOutput, "the depthwise backward cannot work in place")
        let gradInput = FeatureMap.gradientTarget(target, owned: &self.gradInput, for: input.shape)
        return (backwardKernel(ChannelMap(gradOutput), input: ChannelMap(input), into: gradInput), gradInput)
    }

    /// The backward's per-channel kernel from ∂L/∂output and the forward's input, each a
    /// whole map or per-thread slots (``ChannelMap``), writing ∂L/∂input into `gradInput`
    /// (shaped as the forward's input; not the memory of either).
    func backwardKernel(_ gradOutput: ChannelMap, input: ChannelMap, into gradInput: FeatureMap) -> DepthwiseKernels.Backward {
        guard let shape = trainedInputShape else { preconditionFailure("DepthwiseConv2d.backward needs a forward(_:training: true) first") }
        precondition(gradInput.shape == shape, "expected gradInput \(shape), got \(gradInput.shape)")
        return DepthwiseKernels.Backward(
            x: input, w: SendablePointer(weight.value.data), dy: gradOutput,
            dx: SendablePointer(gradInput.data), dw: SendablePointer(weight.grad.data), shape: shape, geometry: geometry)
    }

    /// Multiply-adds per image: K·K·C·F·F'.
    public static func multiplyAdds(channels: Int, kernelSize: Int = 3, stride: Int = 1, padding: Int = 1,
                                    inputHeight: Int, inputWidth: Int) -> Int {
        ConvGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
            .multiplyAdds(inChannels: channels, outChannels: channels, groups: channels,
                          inputHeight: inputHeight, inputWidth: inputWidth)
    }

    /// Multiply-adds of this layer per image of the given input size.
    public func multiplyAdds(inputHeight: Int, inputWidth: Int) -> Int {
        Self.multiplyAdds(channels: channels, kernelSize: kernelSize, stride: stride, padding: padding,
                          inputHeight: inputHeight, inputWidth: inputWidth)
    }
}

// MARK: - Scalar twins (the specification of DepthwiseKernels)

extension DepthwiseConv2d {
    /// The plain scalar depthwise forward, the spec of the SIMD kernel.
    /// - Parameters: `input` [C, H, W, N] in the engine layout with `shape`; `weight` [C, 1, K, K].
    /// - Returns: the output [C, F, F', N], engine layout.
    public static func referenceForward(input: [Float], shape: FeatureShape, weight: [Float],
                                        geometry: ConvGeometry) -> [Float] {
        let out = geometry.outputShape(shape, outChannels: shape.channels)
        var output = [Float](repeating: 0, count: out.count)
        forEachTap(shape, geometry) { c, a, b, oy, ox, iy, ix in
            let w = weight[(c * geometry.kernelSize + a) * geometry.kernelSize + b]
            for n in 0..<shape.batch {
                output[index(c, oy, ox, n, out)] += w * input[index(c, iy, ix, n, shape)]
            }
        }
        return output
    }

    /// The plain scalar depthwise backward (scatter form), the spec of the SIMD kernels.
    /// - Returns: ∂L/∂input [C, H, W, N] and ∂L/∂weight [C, 1, K, K] for L = Σ output · gradOutput.
    public static func referenceBackward(input: [Float], shape: FeatureShape, weight: [Float],
                                         gradOutput: [Float], geometry: ConvGeometry)
        -> (gradInput: [Float], gradWeight: [Float]) {
        let out = geometry.outputShape(shape, outChannels: shape.channels)
        var gradInput = [Float](repeating: 0, count: shape.count)
        var gradWeight = [Float](repeating: 0, count: weight.count)
        forEachTap(shape, geometry) { c, a, b, oy, ox, iy, ix in
            let k = (c * geometry.kernelSize + a) * geometry.kernelSize + b
            for n in 0..<shape.batch {
                let dy = gradOutput[index(c, oy, ox, n, out)]
                gradInput[index(c, iy, ix, n, shape)] += weight[k] * dy
                gradWeight[k] += dy * input[index(c, iy, ix, n, shape)]
            }
        }
        return (gradInput, gradWeight)
    }

    /// Calls body(c, a, b, oy, ox, iy, ix) for every channel, output pixel and in-image tap
    /// (iy = oy·s − p + a, ix = ox·s − p + b), taps in row-major order per output pixel.
    private static func forEachTap(_ shape: FeatureShape, _ geometry: ConvGeometry,
                                   _ body: (Int, Int, Int, Int, Int, Int, Int) -> Void) {
        let k = geometry.kernelSize, s = geometry.stride, p = geometry.padding
        for c in 0..<shape.channels {
            for oy in 0..<geometry.outputSize(shape.height) {
                for ox in 0..<geometry.outputSize(shape.width) {
                    for a in 0..<k {
                        for b in 0..<k {
                            let iy = oy * s - p + a, ix = ox * s - p + b
                            if iy >= 0, iy < shape.height, ix >= 0, ix < shape.width {
                                body(c, a, b, oy, ox, iy, ix)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Element (c, y, x, n) of a C × H × W × N map (Layout.swift).
    private static func index(_ c: Int, _ y: Int, _ x: Int, _ n: Int, _ shape: FeatureShape) -> Int {
        ((c * shape.height + y) * shape.width + x) * shape.batch + n
    }
}
