import Im2Col

/// Standard 2-D convolution (groups 1), equal to
/// torch.nn.Conv2d(Cin, Cout, K, stride: s, padding: p, bias: bias), computed as im2col
/// (Sources/Im2Col, whole N-vectors per copy) followed by one SGEMM over the batch:
/// Y[Cout, F·F'·N] = W[Cout, Cin·K·K] · cols[Cin·K·K, F·F'·N].
///
/// The network's entry conv (3 → 32, 3×3, pad 1, no bias) and the benchmark's
/// standard-convolution baseline.
/// - Input [Cin, H, W, N] → output [Cout, F, F', N], F = (H + 2p − K)/s + 1.
/// - Parameters "weight" [Cout, Cin, K, K] (kind `.convolutionWeight`), optional "bias" [Cout] (kind `.bias`).
/// - Cost: K·K·Cin·Cout·F·F' multiply-adds per image.
/// - Memory: one column buffer of Cin·K·K·F·F'·N floats, allocated on the first forward
///   (and again only if the batch grows), reused by backward for ∂L/∂cols.
/// - Precondition (checked in release builds): the input has Cin channels and fits the kernel.
public final class Conv2d: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter
    public let bias: Parameter?
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// When false, backward skips ∂L/∂input (its returned map holds zeros): set it on a
    /// network's first layer, whose input is the data (PyTorch skips it likewise, as the
    /// input does not require grad). Weight and bias gradients are computed either way.
    public var computesGradInput = true

    public var kernelSize: Int { geometry.kernelSize }
    public var stride: Int { geometry.stride }
    public var padding: Int { geometry.padding }

    /// The training forward's input shape; nil when backward has nothing to work on.
    private var inputShape: FeatureShape?
    /// im2col of the training forward's input; overwritten by ∂L/∂cols in backward.
    private var columns: Tensor?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    /// Rows of the column matrix: Cin·K·K.
    private var columnRows: Int { inChannels * kernelSize * kernelSize }

    /// A zero-initialised layer; call ``resetParameters(using:)`` or load weights.
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        precondition(inChannels >= 1 && outChannels >= 1, "expected positive channel counts, got \(inChannels) → \(outChannels)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.geometry = ConvGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
        self.weight = Parameter(name: "weight", kind: .convolutionWeight, shape: [outChannels, inChannels, kernelSize, kernelSize])
        self.bias = bias ? Parameter(name: "bias", kind: .bias, shape: [outChannels]) : nil
    }

    /// PyTorch's default init: weight and bias ~ U(−1/√(Cin·K·K), 1/√(Cin·K·K)).
    public func resetParameters(using generator: inout SeededGenerator) {
        resetConvolutionParameters(weight: weight, bias: bias, using: &generator)
    }

    /// Y = W · im2col(X) (+ bias per output channel).
    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        precondition(input.shape.channels == inChannels, "expected \(inChannels) channels, got \(input.shape)")
        let outShape = geometry.outputShape(input.shape, outChannels: outChannels)
        let output = FeatureMap.reuse(self.output, for: outShape)
        self.output = output
        let length = outShape.channelStride
        let columns = columnBuffer(count: columnRows * length)
        Parallel.forEachRange(inChannels, ColumnCopy(toColumns: true, image: SendablePointer(input.data),
                                                     columns: SendablePointer(columns.data), shape: input.shape, geometry: geometry))
        BLAS.sgemm(m: outChannels, n: length, k: columnRows,
                   a: weight.value.data, lda: columnRows,
                   b: columns.data, ldb: length,
                   c: output.data, ldc: length)
        if let bias {
            let y = SendablePointer(output.data), b = SendablePointer(bias.value.data)
            Parallel.forEach(outChannels) { c in
                let row = y.base + c * length, value = b[c]
                for i in 0..<length { row[i] += value }
            }
        }
        inputShape = training ? input.shape : nil
        return output
    }

    /// weight.grad += dY · colsᵀ, bias.grad += row sums of dY, and (if ``computesGradInput``)
    /// returns dX = col2im(Wᵀ · dY).
    /// - Precondition: follows a `forward(_:training: true)` (once); gradOutput has the output's shape.
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        guard let shape = inputShape, let columns else {
            preconditionFailure("Conv2d.backward needs a forward(_:training: true) first")
        }
        inputShape = nil
        let outShape = geometry.outputShape(shape, outChannels: outChannels)
        precondition(gradOutput.shape == outShape, "expected gradOutput \(outShape), got \(gradOutput.shape)")
        let length = outShape.channelStride
        BLAS.sgemm(transposeB: true, m: outChannels, n: columnRows, k: length,
                   a: gradOutput.data, lda: length,
                   b: columns.data, ldb: length,
                   beta: 1, c: weight.grad.data, ldc: columnRows)
        if let bias {
            let dy = SendablePointer(gradOutput.data), db = SendablePointer(bias.grad.data)
            Parallel.forEach(outChannels) { c in
                let row = dy.base + c * length
                var sum: Float = 0
                for i in 0..<length { sum += row[i] }
                db[c] += sum
            }
        }
        let gradInput = FeatureMap.reuse(self.gradInput, for: shape)
        self.gradInput = gradInput
        guard computesGradInput else {
            gradInput.buffer.update(repeating: 0)
            return gradInput
        }
        // The forward's columns are no longer needed: they now receive ∂L/∂cols = Wᵀ · dY.
        BLAS.sgemm(transposeA: true, m: columnRows, n: length, k: outChannels,
                   a: weight.value.data, lda: columnRows,
                   b: gradOutput.data, ldb: length,
                   c: columns.data, ldc: length)
        Parallel.forEachRange(inChannels, ColumnCopy(toColumns: false, image: SendablePointer(gradInput.data),
                                                     columns: SendablePointer(columns.data), shape: shape, geometry: geometry))
        return gradInput
    }

    /// im2col (image → columns) or col2im (columns → image) over a range of input channels.
    struct ColumnCopy: ParallelKernel {
        let toColumns: Bool
        let image: SendablePointer<Float>, columns: SendablePointer<Float>
        let shape: FeatureShape
        let geometry: ConvGeometry

        func run(_ range: Range<Int>) {
            let s = shape, g = geometry
            let convert = toColumns ? im2col_chwn : col2im_chwn
            convert(toColumns ? image.base : columns.base, Int32(s.channels), Int32(s.height), Int32(s.width), Int32(s.batch),
                    Int32(g.kernelSize), Int32(g.kernelSize), Int32(g.stride), Int32(g.stride),
                    Int32(g.padding), Int32(g.padding), Int32(range.lowerBound), Int32(range.upperBound),
                    toColumns ? columns.base : image.base)
        }
    }

    /// The column buffer, reallocated only when `count` floats no longer fit.
    private func columnBuffer(count: Int) -> Tensor {
        if let columns, columns.count >= count { return columns }
        let fresh = Tensor(shape: [count])
        columns = fresh
        return fresh
    }

    /// Multiply-adds per image: K·K·Cin·Cout·F·F'.
    public static func multiplyAdds(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                                    inputHeight: Int, inputWidth: Int) -> Int {
        ConvGeometry(kernelSize: kernelSize, stride: stride, padding: padding)
            .multiplyAdds(inChannels: inChannels, outChannels: outChannels,
                          inputHeight: inputHeight, inputWidth: inputWidth)
    }

    /// Multiply-adds of this layer per image of the given input size.
    public func multiplyAdds(inputHeight: Int, inputWidth: Int) -> Int {
        geometry.multiplyAdds(inChannels: inChannels, outChannels: outChannels,
                              inputHeight: inputHeight, inputWidth: inputWidth)
    }
}
