// The multiply-add counter: walks a built network and asks each layer for its own cost.
// Legend: K kernel, M input channels, N output channels, F×F' output size (Howard et al. §3.1).
//
// Every count is an `Int`, which is 64-bit on each platform this package builds for
// (Linux and macOS, x86-64 and arm64): a 224×224 input already needs more than 32 bits.

/// Forward multiply-adds and weight counts of one layer of the network, per image.
///
/// For a depthwise-separable block, the row also holds what a standard K×K
/// convolution with the same channels, stride and padding would cost in its place
/// (Howard et al. 2017, §3.1: K·K·M·N·F·F against K·K·M·F·F + M·N·F·F). Weight counts
/// are those of the convolution and linear weights (and the linear bias), BatchNorm
/// apart, as `flops.json` counts them.
public struct CostRow: Codable, Equatable, Sendable {
    /// `conv3x3` (the entry), `dsc` (a depthwise-separable block) or `linear` — flops.json's kinds.
    public enum Kind: String, Codable, Sendable {
        case conv3x3, dsc, linear
    }

    /// flops.json's name: "entry", "dsc1" … "dsc13", "linear".
    public let name: String
    /// The module path in the PyTorch state_dict ("entry.0", "stage2.3", "linear").
    public let modulePath: String
    public let kind: Kind
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    /// Input height and width.
    public let inputHeight: Int
    public let inputWidth: Int
    /// Output height and width (F, F'); 1×1 for the linear layer.
    public let outputHeight: Int
    public let outputWidth: Int
    /// Multiply-adds of the depthwise and pointwise halves (0 outside `dsc` rows).
    public let depthwiseMultiplyAdds: Int
    public let pointwiseMultiplyAdds: Int
    /// Multiply-adds the network performs here: depthwise + pointwise, or the layer's own.
    public let multiplyAdds: Int
    /// Multiply-adds of a standard K×K convolution in place of this row (the layer's own
    /// cost for the entry conv and the linear layer).
    public let standardMultiplyAdds: Int
    /// Weight counts of the depthwise and pointwise halves (0 outside `dsc` rows).
    public let depthwiseParameters: Int
    public let pointwiseParameters: Int
    /// Weights (and bias) the network holds here, BatchNorm apart.
    public let parameters: Int
    /// Weights of a standard K×K convolution in place of this row (K·K·M·N, no bias).
    public let standardParameters: Int

    /// Separable ÷ standard multiply-adds (1 for the entry and linear rows).
    public var ratio: Double { Double(multiplyAdds) / Double(standardMultiplyAdds) }

    /// The paper's 1/N + 1/K² (§3.1) for `dsc` rows; nil elsewhere.
    public var paperRatio: Double? {
        kind == .dsc ? 1 / Double(outChannels) + 1 / Double(kernelSize * kernelSize) : nil
    }
}

/// The per-layer cost of a built ``MobileNetV1`` for one input size, with totals.
///
/// Built by walking the model's entry conv, blocks and classifier and calling their
/// own `multiplyAdds(inputHeight:inputWidth:)` (one formula, ``ConvGeometry``), so it
/// works for any width multiplier, class count and image size.
/// At α = 1, 10 classes, 32×32: 46,354,432 multiply-adds, 3,217,226 parameters.
public struct CostTable: Codable, Equatable, Sendable {
    public let widthMultiplier: Double
    public let numClasses: Int
    public let imageHeight: Int
    public let imageWidth: Int
    /// Entry, the thirteen blocks, linear; in forward order.
    public let rows: [CostRow]
    /// BatchNorm's γ and β (21,888 at α = 1): trainable, but not in any row.
    public let batchNormParameters: Int

    /// Forward multiply-adds per image of the whole network.
    public var multiplyAdds: Int { rows.reduce(0) { $0 + $1.multiplyAdds } }
    /// The same network with a standard 3×3 convolution in place of every block.
    public var standardMultiplyAdds: Int { rows.reduce(0) { $0 + $1.standardMultiplyAdds } }
    /// Trainable parameters: every row's weights plus BatchNorm's.
    public var parameters: Int { rows.reduce(batchNormParameters) { $0 + $1.parameters } }
    /// Trainable parameters with standard convolutions in place of the blocks.
    public var standardParameters: Int { rows.reduce(batchNormParameters) { $0 + $1.standardParameters } }
    /// Multiply-adds of all depthwise halves, and of all pointwise halves.
    public var depthwiseMultiplyAdds: Int { rows.reduce(0) { $0 + $1.depthwiseMultiplyAdds } }
    public var pointwiseMultiplyAdds: Int { rows.reduce(0) { $0 + $1.pointwiseMultiplyAdds } }

    /// Counts `model` for inputs of imageHeight × imageWidth.
    /// - Precondition: the image is large enough for every layer (≥ 1×1 after each stride).
    public init(model: MobileNetV1, imageHeight: Int = 32, imageWidth: Int = 32) {
        widthMultiplier = model.widthMultiplier
        numClasses = model.numClasses
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        var rows = [Self.entryRow(model.entryConv, height: imageHeight, width: imageWidth)]
        for (index, block) in model.blocks.enumerated() {
            rows.append(Self.blockRow(block, number: index + 1, height: rows.last!.outputHeight, width: rows.last!.outputWidth))
        }
        rows.append(Self.linearRow(model.linear))
        self.rows = rows
        batchNormParameters = model.namedLayers.reduce(0) { sum, entry in
            guard let norm = entry.layer as? BatchNorm2d else { return sum }
            return sum + norm.parameters.reduce(0) { $0 + $1.value.count }
        }
    }

    /// Builds a model with the given width multiplier and class count and counts it.
    public init(widthMultiplier: Double, numClasses: Int = 10, imageSize: Int = 32) {
        self.init(model: MobileNetV1(numClasses: numClasses, widthMultiplier: widthMultiplier),
                  imageHeight: imageSize, imageWidth: imageSize)
    }

    private static func entryRow(_ conv: Conv2d, height: Int, width: Int) -> CostRow {
        let macs = conv.multiplyAdds(inputHeight: height, inputWidth: width)
        let weights = conv.parameters.reduce(0) { $0 + $1.value.count }
        return CostRow(name: "entry", modulePath: "entry.0", kind: .conv3x3,
                       inChannels: conv.inChannels, outChannels: conv.outChannels,
                       kernelSize: conv.kernelSize, stride: conv.stride,
                       inputHeight: height, inputWidth: width,
                       outputHeight: conv.geometry.outputSize(height), outputWidth: conv.geometry.outputSize(width),
                       depthwiseMultiplyAdds: 0, pointwiseMultiplyAdds: 0,
                       multiplyAdds: macs, standardMultiplyAdds: macs,
                       depthwiseParameters: 0, pointwiseParameters: 0,
                       parameters: weights, standardParameters: weights)
    }

    private static func blockRow(_ block: DepthwiseSeparableBlock, number: Int, height: Int, width: Int) -> CostRow {
        let depthwise = block.depthwise, pointwise = block.pointwise, g = depthwise.geometry
        let outputHeight = g.outputSize(height), outputWidth = g.outputSize(width)
        let depthwiseMACs = depthwise.multiplyAdds(inputHeight: height, inputWidth: width)
        let pointwiseMACs = pointwise.multiplyAdds(inputHeight: outputHeight, inputWidth: outputWidth)
        let standardMACs = Conv2d.multiplyAdds(inChannels: pointwise.inChannels, outChannels: pointwise.outChannels,
                                               kernelSize: g.kernelSize, stride: g.stride, padding: g.padding,
                                               inputHeight: height, inputWidth: width)
        let depthwiseWeights = depthwise.weight.value.count, pointwiseWeights = pointwise.weight.value.count
        return CostRow(name: "dsc\(number)", modulePath: block.name, kind: .dsc,
                       inChannels: pointwise.inChannels, outChannels: pointwise.outChannels,
                       kernelSize: g.kernelSize, stride: g.stride,
                       inputHeight: height, inputWidth: width,
                       outputHeight: outputHeight, outputWidth: outputWidth,
                       depthwiseMultiplyAdds: depthwiseMACs, pointwiseMultiplyAdds: pointwiseMACs,
                       multiplyAdds: depthwiseMACs + pointwiseMACs, standardMultiplyAdds: standardMACs,
                       depthwiseParameters: depthwiseWeights, pointwiseParameters: pointwiseWeights,
                       parameters: depthwiseWeights + pointwiseWeights,
                       // A standard conv's weight [N, M, K, K], the shape Conv2d would allocate.
                       standardParameters: pointwise.outChannels * pointwise.inChannels * g.kernelSize * g.kernelSize)
    }

    /// The classifier on pooled features [in, 1, 1, N] is a 1×1 convolution on a 1×1 map.
    private static func linearRow(_ linear: Linear) -> CostRow {
        let macs = PointwiseConv2d.multiplyAdds(inChannels: linear.inFeatures, outChannels: linear.outFeatures,
                                                inputHeight: 1, inputWidth: 1)
        let weights = linear.parameters.reduce(0) { $0 + $1.value.count }
        return CostRow(name: "linear", modulePath: "linear", kind: .linear,
                       inChannels: linear.inFeatures, outChannels: linear.outFeatures, kernelSize: 1, stride: 1,
                       inputHeight: 1, inputWidth: 1, outputHeight: 1, outputWidth: 1,
                       depthwiseMultiplyAdds: 0, pointwiseMultiplyAdds: 0,
                       multiplyAdds: macs, standardMultiplyAdds: macs,
                       depthwiseParameters: 0, pointwiseParameters: 0,
                       parameters: weights, standardParameters: weights)
    }
}
