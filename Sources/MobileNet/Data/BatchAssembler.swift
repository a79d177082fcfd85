/// Builds one batch of a data set of L×L images in the engine layout.
///
/// Images go straight from the uint8 data set into a ``FeatureMap`` of shape
/// [3, S, S, B] (C × H × W × N: element (n, c, y, x) at ((c·S + y)·S + x)·B + n; S = L, 32
/// for CIFAR, or the epoch's size under a ``CropSchedule``),
/// transformed by ``ImageTransform``; labels into an Int32 buffer. Each image's crop and
/// flip come from (seed, epoch, dataset index) (``CropFlip/draw(seed:epoch:index:options:)``),
/// so a batch depends only on which images it holds, never on who prepares it or when.
public struct BatchAssembler: Sendable {
    /// The data set's images (N × 3·L² bytes) and labels, shared with it (copy on write).
    public let images: [UInt8]
    public let labels: [Int32]
    /// L, the side of the data set's images.
    public let imageSide: Int
    public let transform: ImageTransform
    public let seed: UInt64

    /// Images in the data set, N.
    public var count: Int { labels.count }

    /// - Precondition: `options.imageSide == dataset.imageSide`.
    public init(dataset: some LabelledImages, options: AugmentationOptions, seed: UInt64) {
        precondition(options.imageSide == dataset.imageSide,
                     "the transforms are for \(options.imageSide)×\(options.imageSide) images, the data set's are \(dataset.imageSide)×\(dataset.imageSide)")
        self.images = dataset.images
        self.labels = dataset.labels
        self.imageSide = dataset.imageSide
        self.transform = ImageTransform(options: options)
        self.seed = seed
    }

    /// Writes the images `indices` (dataset positions, in batch order) into `images`,
    /// reshaped to [3, S, S, indices.count] (S: ``AugmentationOptions/cropSize(atEpoch:)``),
    /// and their labels into `labels[0..<indices.count]`.
    /// Allocates nothing.
    /// - Precondition: `images.capacity >= 3·S² · indices.count`; every index in `0..<count`.
    public func assemble(indices: ArraySlice<Int32>, epoch: Int,
                         into output: FeatureMap, labels outputLabels: UnsafeMutablePointer<Int32>) {
        let batch = indices.count, side = transform.options.cropSize(atEpoch: epoch)
        let imageBytes = CIFARImage.channels * imageSide * imageSide
        output.reshape(FeatureShape(channels: CIFARImage.channels, height: side, width: side, batch: batch))
        images.withUnsafeBufferPointer { pixels in
            for (n, index) in zip(0..., indices) {
                let i = Int(index)
                precondition(i >= 0 && i < count, "image index \(i) outside 0..<\(count)")
                outputLabels[n] = labels[i]
                let choice = CropFlip.draw(seed: seed, epoch: epoch, index: i, options: transform.options)
                transform.apply(pixels.baseAddress! + i * imageBytes, choice,
                                into: output.data, slot: n, batch: batch)
            }
        }
    }
}
