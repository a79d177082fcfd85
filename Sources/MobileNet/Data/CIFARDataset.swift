/// One split of CIFAR-10 or CIFAR-100 in memory, as stored on disk.
///
/// `images` holds `count` images of ``CIFARImage/bytes`` (3072) bytes each, every image
/// three 32×32 planes R, G, B, row-major (PyTorch's N×C×H×W as uint8). `labels[i]` is the
/// class of image i, in `0..<classNames.count`.
public struct CIFARDataset: Sendable {
    public var dataset: Dataset
    public var split: Split
    /// N × 3072 bytes, R, G, B planes per image.
    public var images: [UInt8]
    /// N labels: CIFAR-10 classes, CIFAR-100 fine labels, or its coarse superclasses.
    public var labels: [Int32]
    /// The class names, index = label.
    public var classNames: [String]
    /// True when the folder had no batches.meta.txt (CIFAR-10) and ``classNames`` are the
    /// release's fixed names (``Dataset/cifar10ClassNames``); callers may say so.
    public var classNamesFileMissing = false

    /// The line to print when ``classNamesFileMissing``: which names stand in for the file.
    public static func fixedClassNamesNote(folder: String) -> String {
        "note: \(folder) has no batches.meta.txt; using CIFAR-10's fixed class names (\(Dataset.cifar10ClassNames.joined(separator: ", ")))"
    }

    /// Number of images, N.
    public var count: Int { labels.count }

    /// Wraps images and labels already in memory (tests, synthetic data).
    /// - Precondition: `images.count == labels.count · 3072` and every label is in `0..<classNames.count`.
    public init(dataset: Dataset, split: Split, images: [UInt8], labels: [Int32], classNames: [String]) {
        precondition(images.count == labels.count * CIFARImage.bytes,
                     "expected \(labels.count) × \(CIFARImage.bytes) image bytes, got \(images.count)")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classNames.count },
                     "labels must lie in 0..<\(classNames.count)")
        self.dataset = dataset
        self.split = split
        self.images = images
        self.labels = labels
        self.classNames = classNames
    }

    /// Reads and validates one split from a CIFAR binary folder.
    ///
    /// - Parameters:
    ///   - directory: the extracted `cifar-10-batches-bin` / `cifar-100-binary` folder, or the
    ///     folder that contains it (as ``CIFARDownloader`` leaves it).
    ///   - split: `.train` (CIFAR-10: data_batch_1…5.bin in that order; CIFAR-100: train.bin)
    ///     or `.test` (test_batch.bin; test.bin).
    ///   - dataset: which release; `nil` recognises it from the file names present.
    ///   - coarseLabels: CIFAR-100 only: the 20 superclasses instead of the 100 fine labels.
    ///   - limit: read at most this many images (the first ones in file order).
    ///   - fileAccess: the file-system seam (tests inject failures).
    /// - Throws: ``CIFARError`` naming the offending file. Every batch file of the split is
    ///   checked (presence, size a whole number of records) before any is read, and every
    ///   label read is range-checked (CIFAR-100: both label bytes).
    public static func load(
        directory: String, split: Split, dataset: Dataset? = nil,
        coarseLabels: Bool = false, limit: Int? = nil,
        fileAccess: CIFARFileAccess = .system
    ) throws(CIFARError) -> CIFARDataset {
        precondition(limit.map { $0 >= 0 } ?? true, "limit must be ≥ 0, got \(limit ?? 0)")
        let (kind, folder) = try CIFARFolder.resolve(directory, dataset: dataset, fileAccess: fileAccess)
        let reader = CIFARBatchReader(dataset: kind, coarseLabels: coarseLabels, fileAccess: fileAccess)
        let paths = kind.batchFiles(split).map { CIFARFolder.join(folder, $0) }
        let sizes = try paths.map { path throws(CIFARError) in try reader.checkedRecordCount(path) }
        let total = min(sizes.reduce(0, +), limit ?? .max)
        let (names, fixedNames) = try reader.classNames(in: folder)

        var images = [UInt8](repeating: 0, count: total * CIFARImage.bytes)
        var labels = [Int32](repeating: 0, count: total)
        var loaded = 0
        for (path, records) in zip(paths, sizes) where loaded < total {
            let take = min(records, total - loaded)
            try reader.read(path, records: take, expectedRecords: records,
                            images: &images, labels: &labels, at: loaded)
            loaded += take
        }
        var loadedSet = CIFARDataset(dataset: kind, split: split, images: images, labels: labels, classNames: names)
        loadedSet.classNamesFileMissing = fixedNames
        return loadedSet
    }

    /// Splits off the last `count` images as a validation set, as Keras's
    /// `validation_split` does: the held-out images are the same for every seed, so runs
    /// with different recipes are compared on the same images.
    /// - Returns: the first `self.count − count` images, and the last `count` (both keep
    ///   this split's ``dataset``, ``split`` and ``classNames``).
    /// - Precondition: `0 <= count <= self.count`.
    public func holdingOut(last count: Int) -> (training: CIFARDataset, validation: CIFARDataset) {
        precondition((0...self.count).contains(count), "cannot hold out \(count) of \(self.count) images")
        let kept = self.count - count
        let cut = kept * CIFARImage.bytes
        var parts = (CIFARDataset(dataset: dataset, split: split, images: Array(images[..<cut]),
                                  labels: Array(labels[..<kept]), classNames: classNames),
                     CIFARDataset(dataset: dataset, split: split, images: Array(images[cut...]),
                                  labels: Array(labels[kept...]), classNames: classNames))
        parts.0.classNamesFileMissing = classNamesFileMissing
        parts.1.classNamesFileMissing = classNamesFileMissing
        return parts
    }
}
