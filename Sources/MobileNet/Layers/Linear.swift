/// Fully connected layer, as torch.nn.Linear(inFeatures, outFeatures, bias: true) applied
/// after torch.flatten(·, 1).
///
/// - Input [C, H, W, N] with C·H·W == `inFeatures` (the pooled features [in, 1, 1, N]);
///   in the engine layout it is already the matrix X [in, N] in flatten's order.
/// - Output [out, 1, 1, N]: Y = W·X + b, one SGEMM. Cost: in·out multiply-adds per image.
/// - Parameters "weight" [out, in] and "bias" [out], PyTorch's shapes; zero until
///   ``resetParameters(using:)``.
/// - Backward: dX = Wᵀ·dY, dW += dY·Xᵀ, db += Σₙ dY. Keeps the input map (owned by the
///   previous layer) for dW.
public final class Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    /// [out, in].
    public let weight: Parameter
    /// [out].
    public let bias: Parameter

    private var savedInput: FeatureMap?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    public init(inFeatures: Int, outFeatures: Int) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear: expected positive sizes, got \(inFeatures) → \(outFeatures)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: "weight", kind: .linearWeight, shape: [outFeatures, inFeatures])
        bias = Parameter(name: "bias", kind: .bias, shape: [outFeatures])
    }

    public var parameters: [Parameter] { [weight, bias] }

    /// PyTorch's default initialisation (Linear.reset_parameters): weight by
    /// kaiming_uniform_(a: √5) and bias alike, both U(−1/√in, 1/√in); weight first, row-major.
    public func resetParameters(using generator: inout SeededGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        for i in 0..<weight.value.count { weight.value.data[i] = generator.uniform(-bound, bound) }
        for i in 0..<bias.value.count { bias.value.data[i] = generator.uniform(-bound, bound) }
    }

    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        let s = input.shape
        precondition(s.channels * s.spatial == inFeatures, "Linear: expected \(inFeatures) features per image, got \(s)")
        let n = s.batch
        let out = FeatureMap.reuse(output, for: FeatureShape(channels: outFeatures, height: 1, width: 1, batch: n))
        output = out
        savedInput = training ? input : nil
        // As torch.addmm: Y starts as the bias broadcast over the batch, then += W·X.
        for o in 0..<outFeatures { (out.data + o * n).update(repeating: bias.value.data[o], count: n) }
        BLAS.sgemm(m: outFeatures, n: n, k: inFeatures,
                   a: weight.value.data, lda: inFeatures, b: input.data, ldb: n,
                   beta: 1, c: out.data, ldc: n)
        return out
    }

    /// - Precondition: after a training forward; `gradOutput` is [out, 1, 1, N].
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        guard let input = savedInput else { preconditionFailure("Linear.backward called without a training forward") }
        let n = input.shape.batch
        let expected = FeatureShape(channels: outFeatures, height: 1, width: 1, batch: n)
        precondition(gradOutput.shape == expected, "Linear.backward: expected gradOutput \(expected), got \(gradOutput.shape)")
        let dxMap = FeatureMap.reuse(gradInput, for: input.shape)
        gradInput = dxMap
        // dX [in, N] = Wᵀ [in, out] · dY [out, N].
        BLAS.sgemm(transposeA: true, m: inFeatures, n: n, k: outFeatures,
                   a: weight.value.data, lda: inFeatures, b: gradOutput.data, ldb: n,
                   c: dxMap.data, ldc: n)
        // dW [out, in] += dY [out, N] · Xᵀ [N, in].
        BLAS.sgemm(transposeB: true, m: outFeatures, n: inFeatures, k: n,
                   a: gradOutput.data, lda: n, b: input.data, ldb: n,
                   beta: 1, c: weight.grad.data, ldc: inFeatures)
        for o in 0..<outFeatures {
            let row = gradOutput.data + o * n
            var sum: Float = 0
            for i in 0..<n { sum += row[i] }
            bias.grad.data[o] += sum
        }
        return dxMap
    }
}
