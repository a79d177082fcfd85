// Output-size, tap-range and cost arithmetic of a K×K convolution: the one place (STYLE).
// Legend: H input extent along one axis, K kernel, s stride, p padding, F output extent.

/// The spatial geometry of a square K×K convolution with stride s and zero padding p
/// (dilation 1), as torch.nn.Conv2d(kernel_size: K, stride: s, padding: p).
///
/// Output position o along an axis reads input positions o·s − p + k for taps k = 0..<K;
/// taps that land in the padding contribute zero and are skipped by the kernels.
public struct ConvGeometry: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    /// - Precondition: kernelSize ≥ 1, stride ≥ 1, padding ≥ 0.
    public init(kernelSize: Int, stride: Int = 1, padding: Int = 0) {
        precondition(kernelSize >= 1 && stride >= 1 && padding >= 0,
                     "expected kernelSize ≥ 1, stride ≥ 1, padding ≥ 0, got \(kernelSize), \(stride), \(padding)")
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    public var description: String { "\(kernelSize)×\(kernelSize), stride \(stride), padding \(padding)" }

    /// F = ⌊(H + 2p − K) / s⌋ + 1, PyTorch's Conv2d output size.
    /// - Precondition: the kernel fits, H + 2p ≥ K.
    @inlinable
    public func outputSize(_ inputSize: Int) -> Int {
        let span = inputSize + 2 * padding - kernelSize
        precondition(inputSize >= 1 && span >= 0,
                     "a \(kernelSize)×\(kernelSize) kernel with padding \(padding) does not fit an input of size \(inputSize)")
        return span / stride + 1
    }

    /// The output shape [outChannels, F, F', N] for an input [C, H, W, N].
    public func outputShape(_ input: FeatureShape, outChannels: Int) -> FeatureShape {
        FeatureShape(channels: outChannels, height: outputSize(input.height),
                     width: outputSize(input.width), batch: input.batch)
    }

    /// Multiply-accumulates of one forward pass per image: K·K·(Cin/groups)·Cout·F·F'.
    /// Standard conv: groups 1; depthwise: groups = Cin = Cout; pointwise: K = 1.
    /// - Precondition: groups divides inChannels.
    public func multiplyAdds(inChannels: Int, outChannels: Int, groups: Int = 1,
                             inputHeight: Int, inputWidth: Int) -> Int {
        precondition(groups >= 1 && inChannels % groups == 0,
                     "groups \(groups) must divide inChannels \(inChannels)")
        return kernelSize * kernelSize * (inChannels / groups) * outChannels
            * outputSize(inputHeight) * outputSize(inputWidth)
    }

    /// Taps k whose input position o·s − p + k lies inside [0, inputSize) for output o.
    @inlinable
    public func validTaps(output o: Int, inputSize: Int) -> Range<Int> {
        let first = o * stride - padding
        let lower = max(0, -first)
        let upper = min(kernelSize, inputSize - first)
        return lower < upper ? lower..<upper : lower..<lower
    }

    /// Outputs o (of outputSize) whose tap k reads inside the input: 0 ≤ o·s − p + k < inputSize.
    @inlinable
    public func validOutputs(tap k: Int, inputSize: Int, outputSize: Int) -> Range<Int> {
        let offset = padding - k
        let lower = offset > 0 ? (offset + stride - 1) / stride : 0
        let last = inputSize - 1 + offset
        if last < 0 { return 0..<0 }
        let upper = min(last / stride + 1, outputSize)
        return lower < upper ? lower..<upper : lower..<lower
    }

    /// Taps k, ascending, through which some output o (0 ≤ o < outputSize) reads input
    /// position i (o·s − p + k = i), and the output read through the first of them; each
    /// further tap (k + s) belongs to the output one before (o − 1). One division per call.
    @inlinable
    public func tapsReading(input i: Int, outputSize: Int) -> (taps: StrideThrough<Int>, firstOutput: Int) {
        let t = i + padding
        // Both candidates are ≡ t (mod s): the smallest tap ≥ 0, and the smallest with o < outputSize.
        let first = max(t % stride, t - (outputSize - 1) * stride)
        return (Swift.stride(from: first, through: min(kernelSize - 1, t), by: stride), (t - first) / stride)
    }
}

/// PyTorch's default Conv2d initialisation (`_ConvNd.reset_parameters`):
/// kaiming_uniform_(a = √5) gives weight ~ U(−b, b) with b = 1/√fanIn, and the bias
/// ~ U(−b, b) with the same bound; fanIn = Cin/groups·K·K, the product of the weight's
/// shape after its first dimension. Same distribution as PyTorch, not the same values.
func resetConvolutionParameters(weight: Parameter, bias: Parameter?, using generator: inout SeededGenerator) {
    let fanIn = weight.value.shape.dropFirst().reduce(1, *)
    let bound = 1 / Float(fanIn).squareRoot()
    for tensor in [weight.value] + (bias.map { [$0.value] } ?? []) {
        for i in 0..<tensor.count { tensor.data[i] = generator.uniform(-bound, bound) }
    }
}
