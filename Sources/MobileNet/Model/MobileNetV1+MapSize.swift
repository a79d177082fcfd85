extension MobileNetV1 {
    /// The side of the network's last feature maps (the input of the last BatchNorm2d and
    /// of the average pool) for square inputs of side `inputSide`: every stride-2 block
    /// (3×3 depthwise, padding 1) maps s to ⌈s / 2⌉, the entry conv keeps s.
    /// 32 → 2, 24 → 2, 16 → 1. These are the smallest maps any BatchNorm2d sees, so
    /// `lastMapSide(inputSide:)²` is the number of values per channel one image gives it.
    /// - Precondition: `inputSide >= 1`.
    public static func lastMapSide(inputSide: Int) -> Int {
        precondition(inputSide >= 1, "inputSide must be ≥ 1, got \(inputSide)")
        return blockTable.reduce(inputSide) { side, block in block.stride == 2 ? (side + 1) / 2 : side }
    }

    /// The fewest values per channel one image gives a BatchNorm2d over training crops of
    /// the given sides (the 32×32 images and every phase of a crop schedule): the smallest
    /// `lastMapSide(inputSide:)²`. A training batch of n images trains (PyTorch's rule:
    /// more than one value per channel) when n × this > 1.
    public static func batchNormValuesPerImage(cropSides: [Int]) -> Int {
        cropSides.map { lastMapSide(inputSide: $0) * lastMapSide(inputSide: $0) }.min() ?? 1
    }
}
