/// Labelled square RGB images in memory, the layout every data set is brought to before
/// batches are made from it: image i is three L×L planes R, G, B of bytes, row-major
/// (PyTorch's N×C×H×W as uint8; L = ``imageSide``), at `images[i·3·L² ..< (i+1)·3·L²]`, and
/// `labels[i]` is its class in `0..<classNames.count`. ``BatchLoader`` and
/// ``BatchAssembler`` read any such set.
public protocol LabelledImages: Sendable {
    /// N × 3·L² bytes, R, G, B planes per image.
    var images: [UInt8] { get }
    /// N labels, each in `0..<classNames.count`.
    var labels: [Int32] { get }
    /// The class names, index = label.
    var classNames: [String] { get }
    /// L, the side of every image in pixels (CIFAR: 32).
    var imageSide: Int { get }
}

extension LabelledImages {
    /// Number of images, N.
    public var count: Int { labels.count }

    /// Bytes per image: 3·L².
    public var imageBytes: Int { CIFARImage.channels * imageSide * imageSide }

    /// "N images, checksum H": H is FNV-1a (64-bit) over the labels and every 61st image
    /// byte, enough to tell two copies of a data set apart cheaply (not a cryptographic hash).
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        for label in labels { mix(UInt8(truncatingIfNeeded: label)) }
        var index = 0
        while index < images.count {
            mix(images[index])
            index += 61
        }
        return "\(count) images, checksum \(String(hash, radix: 16))"
    }
}

extension CIFARDataset: LabelledImages {
    /// CIFAR's images are 32×32.
    public var imageSide: Int { CIFARImage.side }
}

/// One split of any data set in memory (a CIFAR split, an image folder's images brought to
/// L×L), as a run trains and evaluates on it; see ``LabelledImages`` for the layout.
public struct ImageDataset: LabelledImages, Equatable {
    /// N × 3·L² bytes, R, G, B planes per image.
    public var images: [UInt8]
    /// N labels in `0..<classNames.count`.
    public var labels: [Int32]
    /// Class names, index = label.
    public var classNames: [String]
    /// L, the side of every image.
    public var imageSide: Int

    /// - Precondition: `imageSide >= 1`, `images.count == labels.count · 3·imageSide²`, every
    ///   label in `0..<classNames.count`.
    public init(images: [UInt8], labels: [Int32], classNames: [String], imageSide: Int) {
        precondition(imageSide >= 1, "imageSide must be ≥ 1, got \(imageSide)")
        let bytes = CIFARImage.channels * imageSide * imageSide
        precondition(images.count == labels.count * bytes, "expected \(labels.count) × \(bytes) image bytes, got \(images.count)")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classNames.count }, "labels must lie in 0..<\(classNames.count)")
        self.images = images
        self.labels = labels
        self.classNames = classNames
        self.imageSide = imageSide
    }

    /// The images of any labelled set (CIFAR's, a test's), copied on write only.
    public init(_ other: some LabelledImages) {
        self.init(images: other.images, labels: other.labels, classNames: other.classNames, imageSide: other.imageSide)
    }

    /// The images at `indices`, in that order (same classes and side).
    /// - Precondition: every index in `0..<count`.
    public func subset(_ indices: [Int]) -> ImageDataset {
        let bytes = imageBytes
        var pickedImages = [UInt8]()
        pickedImages.reserveCapacity(indices.count * bytes)
        var pickedLabels = [Int32]()
        pickedLabels.reserveCapacity(indices.count)
        for i in indices {
            precondition((0..<count).contains(i), "image index \(i) outside 0..<\(count)")
            pickedImages += images[i * bytes ..< (i + 1) * bytes]
            pickedLabels.append(labels[i])
        }
        return ImageDataset(images: pickedImages, labels: pickedLabels, classNames: classNames, imageSide: imageSide)
    }

    /// The first `count − held` images and the last `held` (Keras's `validation_split`: the
    /// same images for every seed). CIFAR's rule for `--val-split`.
    /// - Precondition: `0 <= held <= count`.
    public func holdingOut(last held: Int) -> (training: ImageDataset, validation: ImageDataset) {
        precondition((0...count).contains(held), "cannot hold out \(held) of \(count) images")
        let kept = count - held, cut = kept * imageBytes
        return (ImageDataset(images: Array(images[..<cut]), labels: Array(labels[..<kept]), classNames: classNames, imageSide: imageSide),
                ImageDataset(images: Array(images[cut...]), labels: Array(labels[kept...]), classNames: classNames, imageSide: imageSide))
    }
}
