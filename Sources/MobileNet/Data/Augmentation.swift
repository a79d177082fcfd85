import Foundation

/// The reference recipe's image transforms (those of the original PyTorch CIFAR-10 tutorial), as options so later recipes can vary them.
///
/// Training (torchvision): `RandomCrop(S, padding: cropPadding)` with zero padding of the
/// uint8 image (S = ``imageSide``, 32 for CIFAR, or the ``cropSchedule``'s smaller size in
/// its early epochs), `RandomHorizontalFlip(p: 0.5)`, `ToTensor()` (÷ 255), `Normalize(mean, std)`,
/// then, when ``cutout`` is set, Cutout (DeVries & Taylor 2017; off in the reference recipe).
/// Test: `ToTensor()` + `Normalize` only (``evaluation``, ``forEvaluation``).
public struct AugmentationOptions: Equatable, Sendable {
    /// The side of the data set's square images, in pixels (CIFAR: 32); crops and padding
    /// are bounded by it.
    public var imageSide: Int
    /// Zero pixels added on each side before the random crop; 0 (with full-size crops) disables the crop.
    public var cropPadding: Int
    /// Smaller crops for the first epochs (progressive resizing); ``CropSchedule/none`` keeps
    /// ``imageSide``×``imageSide``.
    public var cropSchedule: CropSchedule
    /// Mirror left–right with probability 0.5.
    public var horizontalFlip: Bool
    /// With ``horizontalFlip``: flip each image on alternate epochs instead of at random
    /// (``CropFlip/draw(seed:epoch:index:options:)``); false by default.
    public var alternateFlip: Bool = false
    /// Cutout (DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural
    /// Networks with Cutout"): the side K in pixels of a square set to 0 after normalisation
    /// (the channel mean) in every training image, its centre uniform over the S×S crop and
    /// the square clipped at the crop's edges (``CutoutPatch``); 0 for none (the default).
    public var cutout: Int = 0
    /// Per-channel (R, G, B) mean subtracted after scaling to [0, 1].
    public var mean: [Float]
    /// Per-channel (R, G, B) standard deviation divided by after subtracting the mean.
    public var std: [Float]

    /// The reference recipe's CIFAR-10 statistics: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
    public static let cifarMean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let cifarStd: [Float] = [0.2023, 0.1994, 0.2010]

    /// - Precondition: `imageSide >= 1`, `0 <= cropPadding <= imageSide`, crop sizes in
    ///   `1...imageSide`, three means and three positive stds.
    public init(imageSide: Int = CIFARImage.side, cropPadding: Int = 4, horizontalFlip: Bool = true, cropSchedule: CropSchedule = .none,
                mean: [Float] = cifarMean, std: [Float] = cifarStd) {
        precondition(imageSide >= 1, "imageSide must be ≥ 1, got \(imageSide)")
        precondition((0...imageSide).contains(cropPadding), "cropPadding must be in 0...\(imageSide), got \(cropPadding)")
        precondition(cropSchedule.phases.allSatisfy { (1...imageSide).contains($0.size) },
                     "crop sizes must be in 1...\(imageSide), got \(cropSchedule)")
        precondition(mean.count == CIFARImage.channels && std.count == CIFARImage.channels,
                     "expected 3 means and 3 stds, got \(mean.count) and \(std.count)")
        precondition(std.allSatisfy { $0 > 0 }, "std must be positive, got \(std)")
        self.imageSide = imageSide
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.cropSchedule = cropSchedule
        self.mean = mean
        self.std = std
    }

    /// The reference recipe's training transforms: crop with 4 pixels of zero padding, flip, normalise.
    public static let training = AugmentationOptions()
    /// The reference recipe's test transforms: normalise only.
    public static let evaluation = AugmentationOptions(cropPadding: 0, horizontalFlip: false)

    /// The training transforms with ``cutout`` set to `side` (0: none).
    /// - Precondition: `0 <= side <= imageSide`.
    public func cuttingOut(_ side: Int) -> AugmentationOptions {
        precondition((0...imageSide).contains(side), "cutout side must be in 0...\(imageSide), got \(side)")
        var options = self
        options.cutout = side
        return options
    }

    /// The training transforms with ``alternateFlip`` set to `alternate`.
    public func flipping(alternately alternate: Bool) -> AugmentationOptions {
        var options = self
        options.alternateFlip = alternate
        return options
    }

    /// The test transforms that go with these training ones: the same image side, mean and
    /// std, no crop, no flip.
    public var forEvaluation: AugmentationOptions {
        AugmentationOptions(imageSide: imageSide, cropPadding: 0, horizontalFlip: false, mean: mean, std: std)
    }

    /// True when every image gets the same (identity) crop, no flip and no cutout.
    public var isDeterministic: Bool { cropPadding == 0 && !horizontalFlip && cropSchedule.phases.isEmpty && cutout == 0 }

    /// The side of the crops in `epoch` (0-based): the schedule's size, else ``imageSide``.
    public func cropSize(atEpoch epoch: Int) -> Int { cropSchedule.size(atEpoch: epoch) ?? imageSide }
}

/// Progressive resizing (fast.ai's DAWNBench runs; Tan & Le 2021, EfficientNetV2 §4): the
/// first epochs train on smaller random crops, which cost less per image, and the rest on
/// full-size images (32×32 for CIFAR). The crops keep the images' own scale (no resampling): a 24×24 crop
/// is `RandomCrop(24, padding: p)`, so objects look the same size as at test time and the
/// fully convolutional network with global average pooling takes any size.
///
/// Written `SIZE:EPOCHS[,SIZE:EPOCHS…]`: "24:22" trains epochs 1–22 on 24×24 crops, then on
/// the full size.
public struct CropSchedule: Codable, Equatable, Sendable, CustomStringConvertible {
    /// `epochs` epochs of `size`×`size` crops.
    public struct Phase: Codable, Equatable, Sendable {
        public var size: Int
        public var epochs: Int
        public init(size: Int, epochs: Int) {
            self.size = size
            self.epochs = epochs
        }
    }

    /// The phases in order, from the first epoch; after the last one, crops are full size.
    public var phases: [Phase]

    public init(phases: [Phase]) { self.phases = phases }

    /// Full-size crops throughout.
    public static let none = CropSchedule(phases: [])

    /// Epochs the phases cover (`Int.max` when the sum overflows, so a check against the
    /// run's epochs refuses it).
    public var epochs: Int {
        phases.reduce(0) { sum, phase in
            let (total, overflow) = sum.addingReportingOverflow(phase.epochs)
            return overflow ? .max : total
        }
    }

    /// The phase's size in `epoch` (0-based), or nil past the last phase.
    public func size(atEpoch epoch: Int) -> Int? {
        var end = 0
        for phase in phases {
            end += phase.epochs
            if epoch < end { return phase.size }
        }
        return nil
    }

    /// The schedule for a run of `newEpochs` epochs instead of `oldEpochs`: each phase keeps its
    /// share of the run (rounded to whole epochs; phases that round to 0 go), and the phases
    /// never cover more than `newEpochs` (the last ones are shortened). A run that ended on
    /// full-size epochs still ends on at least one: the last epoch leaves BatchNorm's running
    /// statistics, which the full-size test images are normalised with.
    /// - Precondition: `oldEpochs >= 1`, `newEpochs >= 1`.
    public func scaled(fromEpochs oldEpochs: Int, toEpochs newEpochs: Int) -> CropSchedule {
        precondition(oldEpochs >= 1 && newEpochs >= 1, "epochs must be ≥ 1, got \(oldEpochs) and \(newEpochs)")
        var remaining = epochs < oldEpochs ? newEpochs - 1 : newEpochs
        var scaled: [Phase] = []
        for phase in phases {
            let share = min(remaining, Int((Double(phase.epochs) * Double(newEpochs) / Double(oldEpochs)).rounded()))
            if share > 0 { scaled.append(Phase(size: phase.size, epochs: share)) }
            remaining -= share
        }
        return CropSchedule(phases: scaled)
    }

    /// "24:22,28:4", or "none".
    public var description: String {
        phases.isEmpty ? "none" : phases.map { "\($0.size):\($0.epochs)" }.joined(separator: ",")
    }

    /// What a text was wrong with.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let text: String
        public var description: String {
            "expected SIZE:EPOCHS[,SIZE:EPOCHS…] with whole numbers (e.g. 24:22) or none, got '\(text)'"
        }
    }

    /// Parses "24:22,28:4" or "none" (ranges are checked by ``TrainingOptions/validate()``).
    /// - Throws: ``ParseError``.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" || trimmed.isEmpty {
            self = .none
            return
        }
        var phases: [Phase] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2,
                  let size = Int(fields[0].trimmingCharacters(in: .whitespaces)),
                  let epochs = Int(fields[1].trimmingCharacters(in: .whitespaces)) else { throw ParseError(text: text) }
            phases.append(Phase(size: size, epochs: epochs))
        }
        self.phases = phases
    }
}

/// The square of ``AugmentationOptions/cutout`` in one training image, in the coordinates
/// of the S×S image after crop and flip: rows `centreY − side/2 ..< centreY − side/2 + side`
/// and the same columns, clipped to `0..<S` (`side/2` rounds down). For an even side this is
/// the reference implementation's `clip(y − side // 2, 0, S) ..< clip(y + side // 2, 0, S)`
/// (uoguelph-mlrg/Cutout); an odd side covers `side` rows, not `side − 1`.
public struct CutoutPatch: Equatable, Sendable {
    /// The centre's row and column, each in `0..<S`.
    public var centreY: Int
    public var centreX: Int
    /// K, the square's side in pixels before clipping.
    public var side: Int

    public init(centreY: Int, centreX: Int, side: Int) {
        self.centreY = centreY
        self.centreX = centreX
        self.side = side
    }

    /// The rows the square covers in an image of side `size` (clipped at its edges).
    public func rows(in size: Int) -> Range<Int> { Self.span(centre: centreY, side: side, size: size) }

    /// The columns the square covers in an image of side `size` (clipped at its edges).
    public func columns(in size: Int) -> Range<Int> { Self.span(centre: centreX, side: side, size: size) }

    /// centre − ⌊side/2⌋ ..< centre − ⌊side/2⌋ + side, clipped to 0..<size.
    static func span(centre: Int, side: Int, size: Int) -> Range<Int> {
        let start = centre - side / 2
        return max(0, start) ..< min(size, max(0, start + side))
    }
}

/// One image's random choices: where the crop starts in the padded image, the flip, and
/// the cutout square. L is the image's side (``AugmentationOptions/imageSide``, 32 for CIFAR).
public struct CropFlip: Equatable, Sendable {
    /// First row of the crop in the padded (L + 2p)² image, in `0...(L + 2p − size)`;
    /// `p` with size L means no shift.
    public var top: Int
    /// First column of the crop in the padded image, in `0...(L + 2p − size)`.
    public var left: Int
    /// Mirror the cropped image left–right.
    public var flip: Bool
    /// The crop's side, in `1...L` (L unless a ``CropSchedule`` phase is running).
    public var size: Int
    /// The square set to 0 after the crop and flip; nil for none.
    public var cutout: CutoutPatch?

    public init(top: Int, left: Int, flip: Bool, size: Int = CIFARImage.side, cutout: CutoutPatch? = nil) {
        self.top = top
        self.left = left
        self.flip = flip
        self.size = size
        self.cutout = cutout
    }

    /// The choice that leaves an image of side `size` unchanged under padding `p`.
    public static func identity(padding: Int, size: Int = CIFARImage.side) -> CropFlip {
        CropFlip(top: padding, left: padding, flip: false, size: size)
    }

    /// The choice for image `index` in `epoch` (0-based): a pure function of (seed, epoch,
    /// index) through ``SeededGenerator/derive(_:_:_:)``, so it does not depend on the order
    /// images are prepared in, on threads, or on where an epoch was resumed.
    /// Draw order as torchvision's `RandomCrop(S, padding: p)` then `RandomHorizontalFlip()`:
    /// crop row, crop column (each uniform in `0...(L + 2p − S)`, no draw when that is 0),
    /// then flip (p = 0.5), then with ``AugmentationOptions/cutout`` the square's centre row
    /// and column (each uniform in `0..<S`). Cutout's draws come last, so the crops and flips
    /// are those of the same run without it.
    public static func draw(seed: UInt64, epoch: Int, index: Int, options: AugmentationOptions) -> CropFlip {
        let padding = options.cropPadding
        if options.isDeterministic { return identity(padding: padding, size: options.imageSide) }
        let size = options.cropSize(atEpoch: epoch)
        let span = options.imageSide + 2 * padding - size
        var generator = SeededGenerator.derive(seed, UInt64(epoch), UInt64(index))
        let top = span > 0 ? generator.below(span + 1) : 0
        let left = span > 0 ? generator.below(span + 1) : 0
        let drawn = options.horizontalFlip && generator.next() >> 63 == 1
        let cutout = options.cutout > 0
            ? CutoutPatch(centreY: generator.below(size), centreX: generator.below(size), side: options.cutout) : nil
        return CropFlip(top: top, left: left, flip: options.alternateFlip ? alternateFlip(seed: seed, epoch: epoch, index: index, options: options) : drawn,
                        size: size, cutout: cutout)
    }

    /// The flip of ``AugmentationOptions/alternateFlip``: epoch 0's flip is drawn as the
    /// random flip is (the choice `draw` makes for epoch 0 without alternation), and epoch e
    /// flips iff that first flip XOR (e is odd). So each image is seen mirrored on every other
    /// epoch, from (seed, index) alone: resume-safe. The crops stay those of the random flip.
    public static func alternateFlip(seed: UInt64, epoch: Int, index: Int, options: AugmentationOptions) -> Bool {
        guard options.horizontalFlip else { return false }
        var random = options
        random.alternateFlip = false
        let first = draw(seed: seed, epoch: 0, index: index, options: random).flip
        return first != (epoch % 2 == 1)
    }
}

/// Applies crop, flip, normalisation and cutout to one uint8 image (three L×L planes R, G, B, the
/// CIFAR layout; L = ``AugmentationOptions/imageSide``), writing floats straight into an
/// engine-layout batch.
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

    /// Writes image `source` (3·L² bytes, R, G, B planes) transformed by `choice` into slot
    /// `n` of an engine-layout batch of S×S images (S = `choice.size`): element (n, c, y, x)
    /// at `((c·S + y)·S + x)·batch + n`; the elements under `choice.cutout`, in every
    /// channel, are 0.
    /// - Precondition: `choice.size` in `1...L`; `choice.top`, `choice.left` in
    ///   `0...(L + 2·cropPadding − S)`; the cutout's centre in `0..<S` and its side ≥ 1;
    ///   `0 <= n < batch`.
    public func apply(_ source: UnsafePointer<UInt8>, _ choice: CropFlip,
                      into output: UnsafeMutablePointer<Float>, slot n: Int, batch: Int) {
        let imageSide = options.imageSide, padding = options.cropPadding, side = choice.size
        let span = imageSide + 2 * padding - side
        precondition((1...imageSide).contains(side), "crop size \(side) outside 1...\(imageSide)")
        precondition((0...span).contains(choice.top) && (0...span).contains(choice.left),
                     "crop offsets (\(choice.top), \(choice.left)) outside 0...\(span)")
        precondition(n >= 0 && n < batch, "slot \(n) outside batch of \(batch)")
        if let patch = choice.cutout {
            precondition((0..<side).contains(patch.centreY) && (0..<side).contains(patch.centreX) && patch.side >= 1,
                          "cutout centre (\(patch.centreY), \(patch.centreX)) outside 0..<\(side), or side \(patch.side) below 1")
        }
        let shiftY = choice.top - padding, shiftX = choice.left - padding
        table.withUnsafeBufferPointer { table in
            for c in 0..<CIFARImage.channels {
                let lut = table.baseAddress! + c * 256
                let plane = source + c * imageSide * imageSide
                for y in 0..<side {
                    var out = output + ((c * side + y) * side) * batch + n
                    let sy = y + shiftY
                    let rowInside = sy >= 0 && sy < imageSide
                    for x in 0..<side {
                        // Crop first, then flip: output column x shows cropped column S − 1 − x.
                        let sx = (choice.flip ? side - 1 - x : x) + shiftX
                        let byte = rowInside && sx >= 0 && sx < imageSide ? plane[sy * imageSide + sx] : 0
                        out.pointee = lut[Int(byte)]
                        out += batch
                    }
                }
            }
        }
        guard let patch = choice.cutout else { return }
        let rows = patch.rows(in: side), columns = patch.columns(in: side)
        for c in 0..<CIFARImage.channels {
            for y in rows {
                for x in columns { output[((c * side + y) * side + x) * batch + n] = 0 }
            }
        }
    }
}
