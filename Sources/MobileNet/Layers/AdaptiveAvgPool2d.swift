/// Global average pooling to 1×1, as torch.nn.AdaptiveAvgPool2d((1, 1)).
///
/// - Input [C, H, W, N] (engine layout) → output [C, 1, 1, N]: the mean of each
///   channel's H·W pixels per image. The output, read as the matrix [C, N], is what
///   ``Linear`` takes (torch.flatten(·, 1) is free in this layout).
/// - Backward spreads dY/(H·W) over the pixels. Parallel over channels.
public final class AdaptiveAvgPool2d: Layer {
    private var inputShape: FeatureShape?
    private var output: FeatureMap?
    private var gradInput: FeatureMap?

    public init() {}

    public var parameters: [Parameter] { [] }

    /// y[c, n] = Σ_p x[c, p, n] / (H·W).
    public func forward(_ input: FeatureMap, training: Bool) -> FeatureMap {
        let s = input.shape
        precondition(s.spatial > 0, "AdaptiveAvgPool2d: expected a non-empty image, got \(s)")
        let out = FeatureMap.reuse(output, for: FeatureShape(channels: s.channels, height: 1, width: 1, batch: s.batch))
        output = out
        inputShape = training ? s : nil
        Parallel.forEachRange(s.channels, Average(x: SendablePointer(input.data), y: SendablePointer(out.data),
                                                  pixels: s.spatial, batch: s.batch))
        return out
    }

    /// dx[c, p, n] = dy[c, n] / (H·W) for every pixel p.
    /// - Precondition: after a training forward; `gradOutput` is [C, 1, 1, N].
    public func backward(_ gradOutput: FeatureMap) -> FeatureMap {
        guard let s = inputShape else { preconditionFailure("AdaptiveAvgPool2d.backward called without a training forward") }
        let expected = FeatureShape(channels: s.channels, height: 1, width: 1, batch: s.batch)
        precondition(gradOutput.shape == expected, "AdaptiveAvgPool2d.backward: expected gradOutput \(expected), got \(gradOutput.shape)")
        let dxMap = FeatureMap.reuse(gradInput, for: s)
        gradInput = dxMap
        Parallel.forEachRange(s.channels, Spread(dy: SendablePointer(gradOutput.data), dx: SendablePointer(dxMap.data),
                                                 pixels: s.spatial, batch: s.batch))
        return dxMap
    }

    /// y[c, n] = Σ_p x[c, p, n] / (H·W) over a range of channels.
    struct Average: ParallelKernel {
        let x: SendablePointer<Float>, y: SendablePointer<Float>
        let pixels: Int, batch: Int

        func run(_ channels: Range<Int>) {
            let n = batch, divisor = Float(pixels)
            for c in channels {
                let yc = y.base + c * n, xc = x.base + c * pixels * n
                yc.update(from: xc, count: n)
                for p in 1..<pixels {
                    let xp = xc + p * n
                    for i in 0..<n { yc[i] += xp[i] }
                }
                for i in 0..<n { yc[i] /= divisor }
            }
        }
    }

    /// dx[c, p, n] = dy[c, n] / (H·W) over a range of channels.
    struct Spread: ParallelKernel {
        let dy: SendablePointer<Float>, dx: SendablePointer<Float>
        let pixels: Int, batch: Int

        func run(_ channels: Range<Int>) {
            let n = batch, divisor = Float(pixels)
            for c in channels {
                let dyc = dy.base + c * n, dxc = dx.base + c * pixels * n
                for i in 0..<n { dxc[i] = dyc[i] / divisor }
                for p in 1..<pixels { (dxc + p * n).update(from: dxc, count: n) }
            }
        }
    }
}
