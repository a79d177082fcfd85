/// The tutorial network's DSCconv: depthwise 3×3 (groups = channels, padding 1, stride s) → BN →
/// ReLU6 → pointwise 1×1 → BN → ReLU6 (Howard et al. 2017, §3.1 and Figure 3).
///
/// Composed of existing layers; BatchNorm and ReLU6 run fused in one pass (and
/// ``MobileNetV1`` runs the depthwise half channel by channel with its neighbours). Module
/// paths follow the PyTorch model: `<name>.depthConv.0` (depthwise), `.depthConv.1` (BN),
/// `.pointConv.0` (pointwise), `.pointConv.1` (BN).
/// - Input [inChannels, H, W, N] → output [outChannels, F, F', N], F = (H + 2 − 3)/s + 1.
public final class DepthwiseSeparableBlock {
    public let name: String
    public let depthwise: DepthwiseConv2d
    public let depthNorm: BatchNorm2d
    public let pointwise: PointwiseConv2d
    public let pointNorm: BatchNorm2d

    public init(name: String, inChannels: Int, outChannels: Int, stride: Int) {
        self.name = name
        depthwise = DepthwiseConv2d(channels: inChannels, kernelSize: 3, stride: stride, padding: 1)
        depthNorm = BatchNorm2d(numFeatures: inChannels, fusedReLU6: true)
        pointwise = PointwiseConv2d(inChannels: inChannels, outChannels: outChannels)
        pointNorm = BatchNorm2d(numFeatures: outChannels, fusedReLU6: true)
    }

    /// The four layers with their module paths (under `name`, if not empty), in forward order.
    public var namedLayers: [(name: String, layer: any Layer)] {
        let prefix = name.isEmpty ? "" : name + "."
        return [(prefix + "depthConv.0", depthwise), (prefix + "depthConv.1", depthNorm),
                (prefix + "pointConv.0", pointwise), (prefix + "pointConv.1", pointNorm)]
    }
}
