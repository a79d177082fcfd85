// The CIFAR binary formats (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html).
//
// A batch file is a run of fixed-size records: the label byte(s), then 3072 bytes of one
// 32×32 image stored as three planes R, G, B, each row-major. CIFAR-10 records carry one
// label byte (0..<10); CIFAR-100 records carry two, the coarse label (0..<20) then the fine
// label (0..<100).

/// Which CIFAR release a folder holds: `cifar10` (cifar-10-batches-bin) or `cifar100` (cifar-100-binary).
public enum Dataset: String, CaseIterable, Sendable, CustomStringConvertible {
    case cifar10
    case cifar100

    public var description: String { self == .cifar10 ? "CIFAR-10" : "CIFAR-100" }

    /// The folder the official binary archive extracts to.
    public var folderName: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }

    /// Label bytes at the head of each record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).
    public var labelBytes: Int { self == .cifar10 ? 1 : 2 }

    /// Bytes per record: label bytes + 3072 image bytes (3073 or 3074).
    public var recordSize: Int { labelBytes + CIFARImage.bytes }

    /// The batch files of a split, in the order their records are concatenated.
    public func batchFiles(_ split: Split) -> [String] {
        switch (self, split) {
        case (.cifar10, .train): return (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): return ["test_batch.bin"]
        case (.cifar100, .train): return ["train.bin"]
        case (.cifar100, .test): return ["test.bin"]
        }
    }

    /// The text file listing the class names, one per line.
    /// CIFAR-100 has one file for the 100 fine labels and one for the 20 coarse superclasses.
    public func classNamesFile(coarseLabels: Bool) -> String {
        switch self {
        case .cifar10: return "batches.meta.txt"
        case .cifar100: return coarseLabels ? "coarse_label_names.txt" : "fine_label_names.txt"
        }
    }

    /// CIFAR-10's ten class names, label order, as its batches.meta.txt lists them
    /// (Krizhevsky 2009); used when a folder lacks that file.
    public static let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    /// Number of classes: 10; 100 fine or 20 coarse for CIFAR-100.
    public func classCount(coarseLabels: Bool) -> Int {
        switch self {
        case .cifar10: return 10
        case .cifar100: return coarseLabels ? 20 : 100
        }
    }

    /// Offset within a record of the label byte used: CIFAR-100's fine label is the second byte.
    func labelOffset(coarseLabels: Bool) -> Int { self == .cifar100 && !coarseLabels ? 1 : 0 }

    /// The other release, for "given as the wrong data set" diagnostics.
    var other: Dataset { self == .cifar10 ? .cifar100 : .cifar10 }

    /// File names that only this release has (used to recognise a folder).
    var signatureFiles: [String] {
        batchFiles(.train) + batchFiles(.test) + [classNamesFile(coarseLabels: false)]
    }
}

/// A data set split: the training batches or the test batch.
public enum Split: String, CaseIterable, Sendable {
    case train
    case test
}

/// Geometry of one CIFAR image: 3 channels (R, G, B planes) of 32×32 bytes, row-major.
public enum CIFARImage {
    public static let channels = 3
    public static let side = 32
    /// Bytes per plane: 32·32.
    public static let planeBytes = side * side
    /// Bytes per image: 3·32·32 = 3072.
    public static let bytes = channels * planeBytes
}

/// A data set that cannot be read; each message names the file and says what to do.
public enum CIFARError: Error, Equatable, CustomStringConvertible {
    /// The folder does not exist.
    case missingFolder(path: String)
    /// A file exists where the data set folder should be.
    case notAFolder(path: String)
    /// Neither CIFAR-10 nor CIFAR-100 files were found in the folder (auto-detection).
    case unrecognisedFolder(path: String)
    /// A batch or class-name file of the data set is missing.
    case missingFile(path: String, dataset: Dataset)
    /// A folder sits where a file should be.
    case isADirectory(path: String)
    /// The file exists but reading it failed (permissions, I/O error).
    case unreadable(path: String, reason: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// The file is larger than any CIFAR batch file could be (`limit` bytes); nothing was allocated.
    case fileTooLarge(path: String, size: Int, limit: Int)
    /// The size is not a whole number of records.
    case partialRecord(path: String, size: Int, recordSize: Int)
    /// A label byte is outside `0..<classCount`.
    case labelOutOfRange(path: String, record: Int, label: Int, classCount: Int)
    /// The class-name file does not list the expected number of names.
    case classNameCount(path: String, found: Int, expected: Int)
    /// The files belong to the other release (`found`) than the one requested (`expected`).
    case wrongDataset(path: String, expected: Dataset, found: Dataset, evidence: String)

    public var description: String {
        switch self {
        case .missingFolder(let path):
            return "CIFAR data folder \(path) does not exist. Download it with `mobilenet-train download` or pass the folder that holds the .bin files."
        case .notAFolder(let path):
            return "\(ResolvedPath.notAFolder(path)). Pass the folder that holds the CIFAR .bin files."
        case .unrecognisedFolder(let path):
            return "\(path) holds neither CIFAR-10 (data_batch_1.bin … test_batch.bin) nor CIFAR-100 (train.bin, test.bin) binary files. Pass the extracted cifar-10-batches-bin or cifar-100-binary folder."
        case .missingFile(let path, let dataset):
            return "\(dataset) file \(path) is missing. Extract the complete \(dataset.folderName) archive again (or download it with `mobilenet-train download`)."
        case .isADirectory(let path):
            return "\(path) is a folder, but a \(Self.kind(of: path)) file was expected there. Remove or rename that folder and extract the archive again."
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason). Check the file's permissions."
        case .emptyFile(let path):
            return "\(path) is empty (0 bytes). The download or extraction was interrupted: extract the archive again."
        case .fileTooLarge(let path, let size, let limit):
            return "\(path) has \(size) bytes, more than the \(limit) bytes a CIFAR file can hold. It is not a CIFAR file (or the file system reports a wrong size): extract the archive again."
        case .partialRecord(let path, let size, let recordSize):
            return "\(path) has \(size) bytes, not a whole number of \(recordSize)-byte records (\(size / recordSize) records and \(size % recordSize) bytes left over). The file is truncated or damaged: extract the archive again."
        case .labelOutOfRange(let path, let record, let label, let classCount):
            return "\(path), record \(record): label \(label) is outside 0..<\(classCount). The file is damaged or belongs to another data set (CIFAR-100 labels go up to 99): extract the archive again or pass the right data set."
        case .classNameCount(let path, let found, let expected):
            return "\(path) lists \(found) class names, expected \(expected), one per line. Extract the archive again."
        case .wrongDataset(let path, let expected, let found, let evidence):
            return "\(path) looks like \(found), not \(expected) (\(evidence)). Point --data at a \(expected.folderName) folder with \(expected)'s own files; if you meant \(found), use a \(found.folderName) folder with \(found)'s file names (or --dataset \(found.rawValue)); if neither, the file is damaged: download the data set again."
        }
    }

    private static func kind(of path: String) -> String {
        path.hasSuffix(".txt") ? "class-name" : "batch"
    }
}
