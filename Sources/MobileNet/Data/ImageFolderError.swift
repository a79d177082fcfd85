import Foundation

/// An image folder that cannot be used; each message names the folder or file and says what to do.
public enum ImageFolderError: Error, Equatable, CustomStringConvertible {
    /// "3 classes (ant, bee, cow)" (the first 12 names, then "…").
    static func list(_ names: [String]) -> String {
        "\(names.count) class\(names.count == 1 ? "" : "es") (" + names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", …)" : ")")
    }

    /// The folder does not exist.
    case missingFolder(path: String)
    /// A file sits where a folder should be.
    case notAFolder(path: String)
    /// opendir/stat failed (permissions, I/O error).
    case unreadableFolder(path: String, reason: String)
    /// The folder has no subfolders (and no CIFAR files).
    case noClassFolders(path: String)
    /// The folder has a single class folder: nothing to tell apart.
    case oneClass(path: String, className: String)
    /// Class folders holding no image file.
    case emptyClassFolders(paths: [String])
    /// A symbolic link that leads back to a folder it sits in, or to itself.
    case symlinkLoop(path: String)
    /// A file or folder name that is not valid UTF-8 (shown with \xNN escapes).
    case nameNotUTF8(folder: String, escapedName: String)
    /// `train/` without a `val/` or `test/` beside it.
    case noEvaluationFolder(path: String)
    /// `val/` (or `test/`) whose class folders are not `train/`'s.
    case classesDiffer(train: String, other: String, onlyInTrain: [String], onlyInOther: [String])
    /// A folder whose classes are not those a model was trained on (`model` names the checkpoint).
    case classesDifferFromModel(folder: String, folderClasses: [String], model: String, modelClasses: [String])
    /// One class tree without `--val-split`: there would be nothing to evaluate on.
    case needsValidationSplit(path: String, flag: String)
    /// The decoded images would take more memory than allowed (bytes).
    case exceedsMemory(path: String, images: Int, imageSide: Int, bytes: Int, limit: Int, flag: String)
    /// Images that could not be decoded: (file, reason), the first few of `count`.
    case unreadableImages(count: Int, failures: [String])

    public var description: String {
        switch self {
        case .missingFolder(let path):
            return "data folder \(path) does not exist. Pass a CIFAR folder or an image folder (DIR/train/<class>/*.png and DIR/val/<class>/…, or DIR/<class>/… with --val-split N)."
        case .notAFolder(let path):
            return "\(ResolvedPath.notAFolder(path)). Pass the folder that holds the class folders."
        case .unreadableFolder(let path, let reason):
            return "cannot read folder \(path): \(reason). Check its permissions."
        case .noClassFolders(let path):
            return "\(path) holds neither CIFAR binary files nor class folders. An image folder has one subfolder per class (DIR/train/<class>/*.png and DIR/val/<class>/…, or DIR/<class>/… with --val-split N); a CIFAR folder holds data_batch_1.bin … or train.bin."
        case .oneClass(let path, let className):
            return "\(path) has one class folder only, '\(className)'; a classifier needs at least two. Add a folder per class beside it."
        case .emptyClassFolders(let paths):
            return "class folder\(paths.count == 1 ? "" : "s") \(paths.joined(separator: ", ")) hold\(paths.count == 1 ? "s" : "") no \(ImageFolder.extensionList) file. Add images or remove the folder\(paths.count == 1 ? "" : "s") (every subfolder is a class, as in torchvision's ImageFolder)."
        case .symlinkLoop(let path):
            return "\(path) is a symbolic link that leads back to a folder it sits in (or to itself). Remove the link or point it elsewhere."
        case .nameNotUTF8(let folder, let escapedName):
            return "\(folder) holds a name that is not UTF-8 text, \(escapedName). Rename it in UTF-8 (e.g. convmv -f latin1 -t utf8 --notest -r \(folder))."
        case .noEvaluationFolder(let path):
            return "\(path) has a train/ folder but no val/ or test/ beside it. Add DIR/val/<class>/… (the same classes), or hold images out of train/ with --val-split N."
        case .classesDiffer(let train, let other, let onlyInTrain, let onlyInOther):
            let parts = [onlyInTrain.isEmpty ? nil : "only in \(train): \(onlyInTrain.joined(separator: ", "))",
                         onlyInOther.isEmpty ? nil : "only in \(other): \(onlyInOther.joined(separator: ", "))"].compactMap { $0 }
            return "the class folders of \(other) are not those of \(train) (\(parts.joined(separator: "; "))). Give both the same class folders (an empty one is an error), so class indices mean the same."
        case .classesDifferFromModel(let folder, let folderClasses, let model, let modelClasses):
            return "\(folder) has \(Self.list(folderClasses)), but \(model) was trained on \(Self.list(modelClasses)). Give a folder with the model's class folders (index = position in sorted order), or the model trained on these."
        case .needsValidationSplit(let path, let flag):
            return "\(path) is one tree of class folders without train/ and val/: give \(flag) N to hold out N images (spread over the classes) for evaluation, or arrange it as DIR/train/<class>/… and DIR/val/<class>/…."
        case .exceedsMemory(let path, let images, let side, let bytes, let limit, let flag):
            return "the \(images) images of \(path) at \(side)×\(side) take \(MemorySize.text(bytes)) in memory (3·\(side)² = \(3 * side * side) bytes each), more than \(flag) \(MemorySize.text(limit)); nothing was decoded. Raise \(flag), use a smaller --image-size, or fewer images (--limit-train, --limit-test)."
        case .unreadableImages(let count, let failures):
            let more = count > failures.count ? "\n  … and \(count - failures.count) more" : ""
            return "\(count) image\(count == 1 ? "" : "s") could not be read:\n  " + failures.joined(separator: "\n  ") + more
                + "\nRemove or replace \(count == 1 ? "it" : "them") (or re-save as PNG/JPEG), then run again; nothing was trained."
        }
    }
}

/// A number of bytes as `--max-memory` takes and prints it: binary units, K = 1024,
/// M = 1024², G = 1024³, T = 1024⁴ (as `docker --memory` and Java's `-Xmx`).
public enum MemorySize {
    /// "512M", "4G", "1.5G", "4GiB", "4GB" (read as GiB), or a plain number of bytes.
    /// - Returns: nil for anything else, or a size that does not fit in an Int.
    public static func parse(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits.removeLast(suffix.count)
            break
        }
        let units: [Character: Double] = ["K": 0x400, "M": 0x10_0000, "G": 0x4000_0000, "T": 0x100_0000_0000]
        var scale = 1.0
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits.removeLast()
        }
        guard let value = Double(digits), value.isFinite, value >= 0 else { return nil }
        let bytes = (value * scale).rounded()
        return bytes < 9e18 ? Int(bytes) : nil
    }

    /// "3.0 GiB", "150.0 MiB", "3072 bytes".
    public static func text(_ bytes: Int) -> String {
        let units = [("TiB", 0x100_0000_0000), ("GiB", 0x4000_0000), ("MiB", 0x10_0000), ("KiB", 0x400)]
        for (name, size) in units where bytes >= size {
            let value = Double(bytes) / Double(size)
            return "\((value * 10).rounded() / 10) \(name)"
        }
        return "\(bytes) bytes"
    }
}
