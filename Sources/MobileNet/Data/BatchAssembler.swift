/// Builds one batch of a CIFAR data set in the engine layout.
///
/// Images go straight from the uint8 data set into a ``FeatureMap`` of shape
/// [3, S, S, B] (C × H × W × N: element (n, c, y, x) at ((c·S + y)·S + x)·B + n; S = 32, or
/// the epoch's size under a ``CropSchedule``),
/// transformed by ``ImageTransform``; labels into an Int32 buffer. Each image's crop and
/// flip come from (seed, epoch, dataset index) (``CropFlip/draw(seed:epoch:index:options:)``),
/// so a batch depends only on which images it holds, never on who prepares it or when.
public struct BatchAssembler: Sendable {
    public let dataset: CIFARDataset
    public let transform: ImageTransform
    public let seed: UInt64

    public init(dataset: CIFARDataset, options: AugmentationOptions, seed: UInt64) {
        self.dataset = dataset
        self.transform = ImageTransform(options: options)
        self.seed = seed
    }

    /// Writes the images `indices` (dataset positions, in batch order) into `images`,
    /// reshaped to [3, S, S, indices.count] (S: ``AugmentationOptions/cropSize(atEpoch:)``),
    /// and their labels into `labels[0..<indices.count]`.
    /// Allocates nothing.
    /// - Precondition: `images.capacity >= 3072 · indices.count`; every index in `0..<dataset.count`.
    public func assemble(indices: ArraySlice<Int32>, epoch: Int,
                         into images: FeatureMap, labels: UnsafeMutablePointer<Int32>) {
        let batch = indices.count, side = transform.options.cropSize(atEpoch: epoch)
        images.reshape(FeatureShape(channels: CIFARImage.channels, height: side, width: side, batch: batch))
        dataset.images.withUnsafeBufferPointer { pixels in
            for (n, index) in zip(0..., indices) {
                let i = Int(index)
                precondition(i >= 0 && i < dataset.count, "image index \(i) outside 0..<\(dataset.count)")
                labels[n] = dataset.labels[i]
                let choice = CropFlip.draw(seed: seed, epoch: epoch, index: i, options: transform.options)
                transform.apply(pixels.baseAddress! + i * CIFARImage.bytes, choice,
                                into: images.data, slot: n, batch: batch)
            }
        }
    }
}
