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

/// SIMD reductions over contiguous floats (shared by BatchNorm2d and ReLU6's mask).
///
/// Elementwise passes are plain loops (LLVM vectorises them); reductions need explicit
/// vectors because float addition may not be reordered by the compiler. Sixteen lanes: one
/// AVX-512 register in the Makefile's `-target-cpu native` builds (about twice as fast as
/// four lanes there), four SSE registers otherwise. Swift SIMD arithmetic is defined per
/// lane, so the sums are the same bits on either target.
enum FloatLanes {
    typealias Vector = SIMD16<Float>
    typealias Mask = SIMDMask<SIMD16<Int32>>
    static let width = 16

    /// Loads `lanes` (1…16) floats; missing lanes hold `pad`.
    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>, _ lanes: Int, pad: Float = 0) -> Vector {
        if lanes == width { return UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
        var v = Vector(repeating: pad)
        for j in 0..<lanes { v[j] = p[j] }
        return v
    }

    /// `v` where `mask` is set, +0 elsewhere (a bitwise and, no per-lane branch).
    @inline(__always)
    static func keep(_ v: Vector, where mask: Mask) -> Vector {
        unsafeBitCast(unsafeBitCast(v, to: SIMD16<Int32>.self) & unsafeBitCast(mask, to: SIMD16<Int32>.self), to: Vector.self)
    }

    /// Floats summed in Float vectors before a block's total is added in Double: SIMD
    /// speed, and an error that does not grow with the slab length. A multiple of 2·width.
    static let blockLength = 1024

    /// The two sums Σ a and Σ b over vectors covering `0..<count`, where
    /// `(a, b) = terms(offset, lanes)`; padded lanes must contribute zero. The summation
    /// order depends only on `count`, so results do not depend on the thread count.
    @inline(__always)
    static func sums(_ count: Int, _ terms: (_ offset: Int, _ lanes: Int) -> (Vector, Vector)) -> (Double, Double) {
        var total0 = 0.0, total1 = 0.0
        var start = 0
        while start < count {
            let end = min(start + blockLength, count)
            // Two accumulators per sum hide the add latency.
            var a0 = Vector(), a1 = Vector(), b0 = Vector(), b1 = Vector()
            var i = start
            while i + 2 * width <= end {
                let (p, q) = terms(i, width)
                a0 += p
                a1 += q
                let (r, s) = terms(i + width, width)
                b0 += r
                b1 += s
                i += 2 * width
            }
            while i < end {
                let (p, q) = terms(i, min(width, end - i))
                a0 += p
                a1 += q
                i += width
            }
            total0 += Double((a0 + b0).sum())
            total1 += Double((a1 + b1).sum())
            start = end
        }
        return (total0, total1)
    }
}
