/// The worked example of what a depthwise-separable convolution saves
/// (Howard et al. 2017, §3.1, equations 2 and 5): a K×K convolution from M to N channels
/// producing an F×F output, stride 1, no padding.
///
/// - Standard: K·K·M·N·F·F multiply-adds (2400 for K=2, M=3, N=8, F=5).
/// - Separable: depthwise K·K·M·F·F + pointwise M·N·F·F (300 + 600 = 900).
/// - Ratio separable ÷ standard = 1/N + 1/K² (0.375).
/// Counts come from the layers' own `multiplyAdds` on an (F + K − 1)² input.
public struct ToyCase: Codable, Equatable, Sendable {
    public let kernelSize: Int
    public let inChannels: Int
    public let outChannels: Int
    public let outputSize: Int
    public let standardMultiplyAdds: Int
    public let depthwiseMultiplyAdds: Int
    public let pointwiseMultiplyAdds: Int

    public var separableMultiplyAdds: Int { depthwiseMultiplyAdds + pointwiseMultiplyAdds }
    /// Separable ÷ standard.
    public var ratio: Double { Double(separableMultiplyAdds) / Double(standardMultiplyAdds) }
    /// The paper's 1/N + 1/K².
    public var paperRatio: Double { 1 / Double(outChannels) + 1 / Double(kernelSize * kernelSize) }

    /// - Precondition: every size ≥ 1.
    public init(kernelSize: Int = 2, inChannels: Int = 3, outChannels: Int = 8, outputSize: Int = 5) {
        precondition(kernelSize >= 1 && inChannels >= 1 && outChannels >= 1 && outputSize >= 1,
                     "expected positive sizes, got K \(kernelSize) M \(inChannels) N \(outChannels) F \(outputSize)")
        self.kernelSize = kernelSize
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.outputSize = outputSize
        let input = outputSize + kernelSize - 1
        standardMultiplyAdds = Conv2d.multiplyAdds(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                                                   inputHeight: input, inputWidth: input)
        depthwiseMultiplyAdds = DepthwiseConv2d.multiplyAdds(channels: inChannels, kernelSize: kernelSize, padding: 0,
                                                             inputHeight: input, inputWidth: input)
        pointwiseMultiplyAdds = PointwiseConv2d.multiplyAdds(inChannels: inChannels, outChannels: outChannels,
                                                             inputHeight: outputSize, inputWidth: outputSize)
    }

    /// The case term by term, one line each, for a terminal or a Markdown code block.
    public var lines: [String] {
        let k = kernelSize, m = inChannels, n = outChannels, f = outputSize
        return [
            "Toy case (Howard et al. §3.1): K=\(k), M=\(m), N=\(n), F=\(f)",
            "  standard  K·K·M·N·F·F = \(k)·\(k)·\(m)·\(n)·\(f)·\(f) = \(standardMultiplyAdds)",
            "  depthwise K·K·M·F·F   = \(k)·\(k)·\(m)·\(f)·\(f) = \(depthwiseMultiplyAdds)",
            "  pointwise M·N·F·F     = \(m)·\(n)·\(f)·\(f) = \(pointwiseMultiplyAdds)",
            "  separable = \(depthwiseMultiplyAdds) + \(pointwiseMultiplyAdds) = \(separableMultiplyAdds)",
            "  separable ÷ standard = \(separableMultiplyAdds)/\(standardMultiplyAdds) = \(formatFixed(ratio, 4))"
                + " = 1/N + 1/K² = 1/\(n) + 1/\(k * k) = \(formatFixed(paperRatio, 4))",
        ]
    }
}
