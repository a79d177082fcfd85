/// Pointwise (1×1) convolution without bias: the channel-mixing half of a
/// depthwise-separable block (Howard et al. 2017, MobileNets §3.1), equal to
/// torch.nn.Conv2d(Cin, Cout, 1, bias: False).
///
/// In the engine layout a feature map is the matrix [C, H·W·N], so the whole batch is
/// one SGEMM: Y[Cout, HWN] = W[Cout, Cin] · X[Cin, HWN].
/// - Input [Cin, H, W, N] → output [Cout, H, W, N].
/// - Parameter "weight" [Cout, Cin, 1, 1] (kind `.convolutionWeight`).
/// - Cost: Cin·Cout·H·W multiply-adds per image.
/// - Precondition (checked in release builds): the input has Cin channels.
public final class PointwiseConv2d: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let weight: Parameter
    public var parameters: [Parameter] { [weight] }

    /// The training forward's input (owned by the previous layer), read by backward.
    private var input: FeatureMap?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    /// The 1×1 geometry, for shapes and cost.
    private static let geometry = ConvGeometry(kernelSize: 1)

    /// A zero-initialised layer; call ``resetParameters(using:)`` or load weights.
    public init(inChannels: Int, outChannels: Int) {
        precondition(inChannels >= 1 && outChannels >= 1, "expected positive channel counts, got \(inChannels) → \(outChannels)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.weight = Parameter(name: "weight", kind: .convolutionWeight, shape: [outChannels, inChannels, 1, 1])
    }

    /// PyTorch's default init: weight ~ U(−1/√Cin, 1/√Cin).
    public func resetParameters(using generator: inout SeededGenerator) {
        resetConvolutionParameters(weight: weight, bias: nil, using: &generator)
    }

    /// Y = W · X, one SGEMM over the batch.
    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        precondition(input.shape.channels == inChannels, "expected \(inChannels) channels, got \(input.shape)")
        let output = FeatureMap.reuse(self.output, for: Self.geometry.outputShape(input.shape, outChannels: outChannels))
        self.output = output
        let columns = input.shape.channelStride
        BLAS.sgemm(m: outChannels, n: columns, k: inChannels,
                   a: weight.value.data, lda: inChannels,
                   b: input.data, ldb: columns,
                   c: output.data, ldc: columns)
        self.input = training ? input : nil
        return output
    }

    /// dX = Wᵀ · dY (returned) and weight.grad += dY · Xᵀ: two SGEMMs.
    /// - Precondition: follows a `forward(_:training: true)`; gradOutput has the output's shape.
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        backward(gradOutput, into: nil)
    }

    /// ``backward(_:)`` writing dX into `target` (not `gradOutput`) if given, else into the layer's own map.
    func backward(_ gradOutput: FeatureMap, into target: FeatureMap?) -> FeatureMap {
        guard let input else { preconditionFailure("PointwiseConv2d.backward needs a forward(_:training: true) first") }
        let expected = Self.geometry.outputShape(input.shape, outChannels: outChannels)
        precondition(gradOutput.shape == expected, "expected gradOutput \(expected), got \(gradOutput.shape)")
        precondition(target !== gradOutput, "the pointwise backward cannot work in place")
        let gradInput = FeatureMap.gradientTarget(target, owned: &self.gradInput, for: input.shape)
        let columns = input.shape.channelStride
        BLAS.sgemm(transposeA: true, m: inChannels, n: columns, k: outChannels,
                   a: weight.value.data, lda: inChannels,
                   b: gradOutput.data, ldb: columns,
                   c: gradInput.data, ldc: columns)
        BLAS.sgemm(transposeB: true, m: outChannels, n: inChannels, k: columns,
                   a: gradOutput.data, lda: columns,
                   b: input.data, ldb: columns,
                   beta: 1, c: weight.grad.data, ldc: inChannels)
        return gradInput
    }

    /// Multiply-adds per image: Cin·Cout·H·W.
    public static func multiplyAdds(inChannels: Int, outChannels: Int, inputHeight: Int, inputWidth: Int) -> Int {
        geometry.multiplyAdds(inChannels: inChannels, outChannels: outChannels,
                              inputHeight: inputHeight, inputWidth: inputWidth)
    }

    /// Multiply-adds of this layer per image of the given input size.
    public func multiplyAdds(inputHeight: Int, inputWidth: Int) -> Int {
        Self.multiplyAdds(inChannels: inChannels, outChannels: outChannels,
                          inputHeight: inputHeight, inputWidth: inputWidth)
    }
}
