#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two ways an image data set is laid out, each split an ``ImageFolder``:
/// - `DIR/train/<class>/…` with `DIR/val/<class>/…` or `DIR/test/<class>/…` beside it (the
///   evaluation split; `val/` when both exist): the layout of torchvision's ImageNet folders;
/// - one tree `DIR/<class>/…`, whose evaluation images are held out with `--val-split`.
///
/// A folder with a `train/` subfolder is taken as the first layout (a class cannot be
/// named `train` in a single tree).
public struct ImageFolderLayout: Sendable {
    /// The folder given.
    public let root: String
    /// `DIR/train`, or the whole tree.
    public let train: ImageFolder
    /// `DIR/val` or `DIR/test` (nil for a single tree, or a `train/` alone).
    public let evaluation: ImageFolder?
    /// True when `DIR/train/` exists.
    public let isSplit: Bool
    /// Lines to print: skipped files, which evaluation folder was taken.
    public let notes: [String]

    /// The names of the evaluation folder, in the order they are looked for.
    public static let evaluationFolderNames = ["val", "test"]

    /// Whether `path` is a folder (following links).
    static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Scans `root` in the layout it has.
    /// - Throws: ``ImageFolderError``: any scan error (``ImageFolder/scan(_:)``), or
    ///   ``ImageFolderError/classesDiffer(train:other:onlyInTrain:onlyInOther:)``.
    public static func scan(_ root: String) throws(ImageFolderError) -> ImageFolderLayout {
        let trainPath = ImageFolder.join(root, "train")
        guard isFolder(trainPath) else {
            let tree = try ImageFolder.scan(root)
            return ImageFolderLayout(root: root, train: tree, evaluation: nil, isSplit: false, notes: [tree.skippedNote].compactMap { $0 })
        }
        let train = try ImageFolder.scan(trainPath)
        let present = evaluationFolderNames.filter { isFolder(ImageFolder.join(root, $0)) }
        guard let name = present.first else {
            return ImageFolderLayout(root: root, train: train, evaluation: nil, isSplit: true, notes: [train.skippedNote].compactMap { $0 })
        }
        let evaluation = try ImageFolder.scan(ImageFolder.join(root, name))
        if evaluation.classNames != train.classNames {
            throw .classesDiffer(train: train.root, other: evaluation.root,
                                 onlyInTrain: train.classNames.filter { !evaluation.classNames.contains($0) },
                                 onlyInOther: evaluation.classNames.filter { !train.classNames.contains($0) })
        }
        // One line for both folders' skipped files.
        var notes = [ImageFolder.skippedNote(in: root, count: train.skippedFiles + evaluation.skippedFiles,
                                             examples: Array((train.skippedExamples + evaluation.skippedExamples).prefix(3)))].compactMap { $0 }
        if present.count > 1 {
            notes.append("note: \(root) has both val/ and test/; val/ is evaluated (evaluate --data \(ImageFolder.join(root, "test")) scores test/)")
        }
        return ImageFolderLayout(root: root, train: train, evaluation: evaluation, isSplit: true, notes: notes)
    }
}
