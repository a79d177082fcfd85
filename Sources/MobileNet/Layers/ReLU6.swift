/// ReLU6: y = min(max(x, 0), 6), as torch.nn.ReLU6 (Hardtanh(0, 6)).
///
/// - Any shape in, same shape out (engine layout, see Layout.swift). NaN stays NaN.
/// - Gradient passes only where 0 < x < 6 strictly, as PyTorch (none at exactly 0 or 6).
/// - Keeps a reference to the input map (owned by the previous layer) for backward.
/// BatchNorm2d can apply the same clamp in its own pass (`fusedReLU6`).
public final class ReLU6: Layer {
    private var savedInput: FeatureMap?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    public init() {}

    public var parameters: [Parameter] { [] }

    /// y = min(max(x, 0), 6), elementwise. Training and eval behave the same; eval keeps no input.
    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        let out = FeatureMap.reuse(output, for: input.shape)
        output = out
        savedInput = training ? input : nil
        let x = SendablePointer(input.data), y = SendablePointer(out.data)
        Parallel.forEachRange(input.shape.count) { range in
            for i in range { y[i] = ReLU6.clamp(x[i]) }
        }
        return out
    }

    /// dx = dy where 0 < x < 6, else 0.
    /// - Precondition: after a training forward, `gradOutput` shaped as that input.
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        guard let input = savedInput else { preconditionFailure("ReLU6.backward called without a training forward") }
        precondition(gradOutput.shape == input.shape, "ReLU6.backward: expected gradOutput \(input.shape), got \(gradOutput.shape)")
        let dxMap = FeatureMap.reuse(gradInput, for: input.shape)
        gradInput = dxMap
        let x = SendablePointer(input.data), dy = SendablePointer(gradOutput.data), dx = SendablePointer(dxMap.data)
        Parallel.forEachRange(input.shape.count) { range in
            for i in range {
                let g = dy[i]  // loaded unconditionally, so the select vectorises
                dx[i] = ReLU6.passesGradient(x[i]) ? g : 0
            }
        }
        return dxMap
    }

    /// min(max(v, 0), 6); NaN stays NaN (as torch.clamp). A select LLVM vectorises.
    @inline(__always)
    static func clamp(_ v: Float) -> Float { v < 0 ? 0 : (v > 6 ? 6 : v) }

    /// Whether ReLU6 passes gradient at pre-activation `v`: 0 < v < 6 strictly.
    @inline(__always)
    static func passesGradient(_ v: Float) -> Bool { v > 0 && v < 6 }

    /// ``passesGradient(_:)`` per lane.
    @inline(__always)
    static func passesGradient(_ v: FloatLanes.Vector) -> FloatLanes.Mask { (v .> 0) .& (v .< 6) }
}
