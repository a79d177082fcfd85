/// What depthwise-separable convolution saves, counted: the toy case, the per-layer
/// table of one network and the totals for several width multipliers (the kind of the
/// paper's Table 6), renderable as text (the `flops` command) or Markdown (the bench
/// report), and Codable for results.json.
public struct CostReport: Codable, Sendable {
    /// The paper's width multipliers α (Howard et al. 2017, §3.3 and Table 6).
    public static let paperWidthMultipliers: [Double] = [1, 0.75, 0.5, 0.25]

    public let toy: ToyCase
    /// The network asked for, layer by layer.
    public let table: CostTable
    /// The same network at each of `paperWidthMultipliers`.
    public let widthTables: [CostTable]

    /// Counts the network with `widthMultiplier` on imageSize × imageSize inputs, and its
    /// totals at every α of the paper.
    public init(widthMultiplier: Double = 1, imageSize: Int = 32, numClasses: Int = 10) {
        toy = ToyCase()
        let table = CostTable(widthMultiplier: widthMultiplier, numClasses: numClasses, imageSize: imageSize)
        self.table = table
        widthTables = Self.paperWidthMultipliers.map {
            $0 == widthMultiplier ? table : CostTable(widthMultiplier: $0, numClasses: numClasses, imageSize: imageSize)
        }
    }

    /// Toy case, per-layer table, totals and the α table, for a terminal.
    public func text() -> String {
        [toy.lines.joined(separator: "\n") + "\n", heading + "\n\n" + Self.layerTable(table).text(),
         Self.totals(table).joined(separator: "\n") + "\n", widthHeading + "\n\n" + widthTable.text()]
            .joined(separator: "\n")
    }

    /// The same in Markdown (the toy case as a code block).
    public func markdown() -> String {
        ["```\n" + toy.lines.joined(separator: "\n") + "\n```\n", "**" + heading + "**\n\n" + Self.layerTable(table).markdown(),
         Self.totals(table).map { "- " + $0 }.joined(separator: "\n") + "\n", "**" + widthHeading + "**\n\n" + widthTable.markdown()]
            .joined(separator: "\n")
    }

    private var heading: String {
        "MobileNetV1, α = \(table.widthMultiplier), \(table.imageHeight)×\(table.imageWidth) input, "
            + "\(table.numClasses) classes: multiply-adds (MACs) and weights per layer, per image, forward"
    }

    private var widthHeading: String {
        "Width multiplier α (\(table.imageHeight)×\(table.imageWidth), \(table.numClasses) classes)"
    }

    /// One row per layer: channels, stride, output; depthwise, pointwise, the layer's own and the
    /// standard-conv multiply-adds; the ratios; and the same for weights.
    public static func layerTable(_ table: CostTable) -> TextTable {
        var text = TextTable(headers: ["layer", "in→out", "stride", "output", "depthwise MACs", "pointwise MACs", "MACs",
                                       "standard MACs", "sep ÷ std", "1/N + 1/K²", "dw weights", "pw weights", "weights",
                                       "std weights"])
        let dash = "—"
        for row in table.rows {
            let separable = row.kind == .dsc
            text.append([row.kind == .conv3x3 ? "\(row.name) (3×3 conv)" : row.name,
                         "\(row.inChannels)→\(row.outChannels)", "\(row.stride)",
                         "\(row.outputHeight)×\(row.outputWidth)",
                         separable ? formatGrouped(row.depthwiseMultiplyAdds) : dash,
                         separable ? formatGrouped(row.pointwiseMultiplyAdds) : dash,
                         formatGrouped(row.multiplyAdds), formatGrouped(row.standardMultiplyAdds),
                         separable ? formatFixed(row.ratio, 4) : dash,
                         row.paperRatio.map { formatFixed($0, 4) } ?? dash,
                         separable ? formatGrouped(row.depthwiseParameters) : dash,
                         separable ? formatGrouped(row.pointwiseParameters) : dash,
                         formatGrouped(row.parameters), formatGrouped(row.standardParameters)])
        }
        return text
    }

    /// Totals: the network's multiply-adds and parameters, their split, and the standard-conv network.
    public static func totals(_ table: CostTable) -> [String] {
        let total = table.multiplyAdds
        func share(_ part: Int) -> String { formatFixed(100 * Double(part) / Double(total), 1) + " %" }
        let other = total - table.depthwiseMultiplyAdds - table.pointwiseMultiplyAdds
        return [
            "network: \(formatGrouped(total)) multiply-adds per image (depthwise \(formatGrouped(table.depthwiseMultiplyAdds)) "
                + "= \(share(table.depthwiseMultiplyAdds)), pointwise \(formatGrouped(table.pointwiseMultiplyAdds)) "
                + "= \(share(table.pointwiseMultiplyAdds)), entry conv + linear \(formatGrouped(other)) = \(share(other)))",
            "parameters: \(formatGrouped(table.parameters)) trainable (conv and linear weights "
                + "\(formatGrouped(table.parameters - table.batchNormParameters)) + BatchNorm \(formatGrouped(table.batchNormParameters)))",
            "standard 3×3 convs in place of every block: \(formatGrouped(table.standardMultiplyAdds)) multiply-adds "
                + "(\(formatFixed(Double(table.standardMultiplyAdds) / Double(total), 2))× the network), "
                + "\(formatGrouped(table.standardParameters)) parameters",
        ]
    }

    /// One row per α: channels, multiply-adds, parameters, and the standard-conv counterpart.
    public var widthTable: TextTable {
        var text = TextTable(headers: ["α", "channels", "multiply-adds", "parameters", "standard-conv MACs",
                                       "standard-conv params", "MACs ÷ α=1"])
        let reference = widthTables.first { $0.widthMultiplier == 1 }?.multiplyAdds
        for t in widthTables {
            text.append(["\(t.widthMultiplier)", "\(t.rows[0].outChannels)…\(t.rows[t.rows.count - 2].outChannels)",
                         formatGrouped(t.multiplyAdds), formatGrouped(t.parameters),
                         formatGrouped(t.standardMultiplyAdds), formatGrouped(t.standardParameters),
                         reference.map { formatFixed(Double(t.multiplyAdds) / Double($0), 3) } ?? "—"])
        }
        return text
    }
}
