/// The seed's image transforms, as options so later recipes can vary them.
///
/// Training (torchvision): `RandomCrop(32, padding: cropPadding)` with zero padding of the
/// uint8 image, `RandomHorizontalFlip(p: 0.5)`, `ToTensor()` (÷ 255),
/// `Normalize(mean, std)`. Test: `ToTensor()` + `Normalize` only (``evaluation``).
public struct AugmentationOptions: Equatable, Sendable {
    /// Zero pixels added on each side before a random 32×32 crop; 0 disables the crop.
    public var cropPadding: Int
    /// Mirror left–right with probability 0.5.
    public var horizontalFlip: Bool
    /// Per-channel (R, G, B) mean subtracted after scaling to [0, 1].
    public var mean: [Float]
    /// Per-channel (R, G, B) standard deviation divided by after subtracting the mean.
    public var std: [Float]

    /// The seed's CIFAR-10 statistics: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
    public static let cifarMean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let cifarStd: [Float] = [0.2023, 0.1994, 0.2010]

    /// - Precondition: `0 <= cropPadding <= 32`, three means and three positive stds.
    public init(cropPadding: Int = 4, horizontalFlip: Bool = true,
                mean: [Float] = cifarMean, std: [Float] = cifarStd) {
        precondition((0...CIFARImage.side).contains(cropPadding), "cropPadding must be in 0...32, got \(cropPadding)")
        precondition(mean.count == CIFARImage.channels && std.count == CIFARImage.channels,
                     "expected 3 means and 3 stds, got \(mean.count) and \(std.count)")
        precondition(std.allSatisfy { $0 > 0 }, "std must be positive, got \(std)")
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.mean = mean
        self.std = std
    }

    /// The seed's training transforms: crop with 4 pixels of zero padding, flip, normalise.
    public static let training = AugmentationOptions()
    /// The seed's test transforms: normalise only.
    public static let evaluation = AugmentationOptions(cropPadding: 0, horizontalFlip: false)

    /// True when every image gets the same (identity) crop and no flip.
    public var isDeterministic: Bool { cropPadding == 0 && !horizontalFlip }
}

/// One image's random choices: where the 32×32 crop starts in the padded image, and the flip.
public struct CropFlip: Equatable, Sendable {
    /// First row of the crop in the padded (32 + 2p)² image, in `0...2p`; `p` means no shift.
    public var top: Int
    /// First column of the crop in the padded image, in `0...2p`.
    public var left: Int
    /// Mirror the cropped image left–right.
    public var flip: Bool

    public init(top: Int, left: Int, flip: Bool) {
        self.top = top
        self.left = left
        self.flip = flip
    }

    /// The choice that leaves an image unchanged under padding `p`.
    public static func identity(padding: Int) -> CropFlip { CropFlip(top: padding, left: padding, flip: false) }

    /// The choice for image `index` in `epoch`: a pure function of (seed, epoch, index)
    /// through ``SeededGenerator/derive(_:_:_:)``, so it does not depend on the order images
    /// are prepared in, on threads, or on where an epoch was resumed.
    /// Draw order as torchvision: crop row, crop column (each uniform in 0...2p), then flip (p = 0.5).
    public static func draw(seed: UInt64, epoch: Int, index: Int, options: AugmentationOptions) -> CropFlip {
        let padding = options.cropPadding
        if options.isDeterministic { return identity(padding: padding) }
        var generator = SeededGenerator.derive(seed, UInt64(epoch), UInt64(index))
        let top = padding > 0 ? generator.below(2 * padding + 1) : 0
        let left = padding > 0 ? generator.below(2 * padding + 1) : 0
        let flip = options.horizontalFlip && generator.next() >> 63 == 1
        return CropFlip(top: top, left: left, flip: flip)
    }
}

/// Applies crop, flip and normalisation to one uint8 CIFAR image, writing floats straight
/// into an engine-layout batch.
///
/// Normalisation is a 3×256 look-up table computed as torchvision does in float32:
/// `(Float(v) / 255 − mean[c]) / std[c]`, so values match PyTorch bit for bit. Padding is
/// applied to the uint8 image (value 0) before normalising, as torchvision's RandomCrop on a
/// PIL image: a padded pixel becomes `(0 − mean[c]) / std[c]`.
public struct ImageTransform: Sendable {
    public let options: AugmentationOptions
    /// table[c·256 + v] = normalised value of byte v in channel c.
    private let table: [Float]

    public init(options: AugmentationOptions) {
        self.options = options
        var table = [Float](repeating: 0, count: CIFARImage.channels * 256)
        for c in 0..<CIFARImage.channels {
            for v in 0..<256 {
                table[c * 256 + v] = (Float(v) / 255 - options.mean[c]) / options.std[c]
            }
        }
        self.table = table
    }

    /// The normalised value of byte `value` in channel `channel` (0 R, 1 G, 2 B).
    public func normalised(_ value: UInt8, channel: Int) -> Float { table[channel * 256 + Int(value)] }

    /// Writes image `source` (3072 bytes, R, G, B planes) transformed by `choice` into slot
    /// `n` of an engine-layout batch: element (n, c, y, x) at `((c·32 + y)·32 + x)·batch + n`.
    /// - Precondition: `choice.top`, `choice.left` in `0...2·cropPadding`; `0 <= n < batch`.
    public func apply(_ source: UnsafePointer<UInt8>, _ choice: CropFlip,
                      into output: UnsafeMutablePointer<Float>, slot n: Int, batch: Int) {
        let side = CIFARImage.side, padding = options.cropPadding
        precondition((0...2 * padding).contains(choice.top) && (0...2 * padding).contains(choice.left),
                     "crop offsets (\(choice.top), \(choice.left)) outside 0...\(2 * padding)")
        precondition(n >= 0 && n < batch, "slot \(n) outside batch of \(batch)")
        let shiftY = choice.top - padding, shiftX = choice.left - padding
        table.withUnsafeBufferPointer { table in
            for c in 0..<CIFARImage.channels {
                let lut = table.baseAddress! + c * 256
                let plane = source + c * CIFARImage.planeBytes
                for y in 0..<side {
                    var out = output + ((c * side + y) * side) * batch + n
                    let sy = y + shiftY
                    let rowInside = sy >= 0 && sy < side
                    for x in 0..<side {
                        // Crop first, then flip: output column x shows cropped column 31 − x.
                        let sx = (choice.flip ? side - 1 - x : x) + shiftX
                        let byte = rowInside && sx >= 0 && sx < side ? plane[sy * side + sx] : 0
                        out.pointee = lut[Int(byte)]
                        out += batch
                    }
                }
            }
        }
    }
}
