import Foundation

/// Finds the CIFAR folder and tells CIFAR-10 from CIFAR-100 by the file names present.
enum CIFARFolder {
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The data set kind and the folder holding its files.
    ///
    /// `directory` may be the data folder itself or its parent (holding
    /// cifar-10-batches-bin / cifar-100-binary). With `dataset == nil`, CIFAR-10 is tried first.
    static func resolve(
        _ directory: String, dataset: Dataset?, fileAccess: CIFARFileAccess
    ) throws(CIFARError) -> (Dataset, String) {
        switch fileAccess.entry(directory) {
        case .missing: throw .missingFolder(path: directory)
        case .file: throw .notAFolder(path: directory)
        case .directory: break
        }
        let candidates = dataset.map { [$0] } ?? Dataset.allCases
        for kind in candidates where firstPresent(kind, in: directory, fileAccess) != nil {
            return (kind, directory)
        }
        for kind in candidates {
            let sub = join(directory, kind.folderName)
            if fileAccess.entry(sub) == .directory { return (kind, sub) }
        }
        guard let dataset else { throw .unrecognisedFolder(path: directory) }
        let other = dataset.other
        if let file = firstPresent(other, in: directory, fileAccess) {
            throw .wrongDataset(path: join(directory, file), expected: dataset, found: other,
                                evidence: "\(file) is a \(other) file name")
        }
        let otherFolder = join(directory, other.folderName)
        if fileAccess.entry(otherFolder) == .directory {
            throw .wrongDataset(path: otherFolder, expected: dataset, found: other,
                                evidence: "the folder holds \(other.folderName), not \(dataset.folderName)")
        }
        // Nothing of either release: loading reports the first missing file of `dataset`.
        return (dataset, directory)
    }

    private static func firstPresent(_ kind: Dataset, in folder: String, _ fileAccess: CIFARFileAccess) -> String? {
        kind.signatureFiles.first { fileAccess.entry(join(folder, $0)) != .missing }
    }
}

/// Validates and reads the batch and class-name files of one release.
struct CIFARBatchReader {
    let dataset: Dataset
    let coarseLabels: Bool
    let fileAccess: CIFARFileAccess

    /// The number of records in a batch file, checked from its size alone.
    func checkedRecordCount(_ path: String) throws(CIFARError) -> Int {
        let size: Int
        switch fileAccess.entry(path) {
        case .missing: throw .missingFile(path: path, dataset: dataset)
        case .directory: throw .isADirectory(path: path)
        case .file(let bytes): size = bytes
        }
        try checkSize(size, of: path)
        return size / dataset.recordSize
    }

    /// The most records one batch file may hold: 2²⁰ (3.2 GB). The official files hold 10,000
    /// (CIFAR-10) and 50,000 (CIFAR-100 train); a larger size (a sparse or damaged file, or the
    /// wrong file) is rejected before anything is allocated for it.
    static let maxRecordsPerFile = 1 << 20
    /// The most bytes a class-name file may hold: 1 MiB (the official ones hold under 1 KiB).
    static let maxClassNamesBytes = 1 << 20

    private func checkSize(_ size: Int, of path: String) throws(CIFARError) {
        if size == 0 { throw .emptyFile(path: path) }
        let limit = Self.maxRecordsPerFile * dataset.recordSize
        if size > limit { throw .fileTooLarge(path: path, size: size, limit: limit) }
        let recordSize = dataset.recordSize
        guard size % recordSize != 0 else { return }
        let other = dataset.other
        if size % other.recordSize == 0 {
            throw .wrongDataset(
                path: path, expected: dataset, found: other,
                evidence: "its \(size) bytes are \(size / other.recordSize) records of \(other.recordSize) bytes (\(other.labelBytes) label byte\(other.labelBytes > 1 ? "s" : "") + 3072), not \(recordSize)-byte records")
        }
        throw .partialRecord(path: path, size: size, recordSize: recordSize)
    }

    /// Reads the first `records` records of a file holding `expectedRecords`, writing image
    /// bytes and labels from position `start` on, and range-checking every label byte.
    func read(
        _ path: String, records: Int, expectedRecords: Int,
        images: inout [UInt8], labels: inout [Int32], at start: Int
    ) throws(CIFARError) {
        let bytes = try readAll(path)
        try checkSize(bytes.count, of: path)
        let recordSize = dataset.recordSize
        guard bytes.count == expectedRecords * recordSize else {
            throw .unreadable(path: path, reason: "its size changed while it was being read (\(expectedRecords * recordSize) → \(bytes.count) bytes)")
        }
        let fine = dataset.labelOffset(coarseLabels: false)
        let used = dataset.labelOffset(coarseLabels: coarseLabels)
        let coarseCount = dataset.classCount(coarseLabels: true)
        let fineCount = dataset.classCount(coarseLabels: false)
        try bytes.withUnsafeBufferPointer { (source: UnsafeBufferPointer<UInt8>) throws(CIFARError) in
            try images.withUnsafeMutableBufferPointer { (target: inout UnsafeMutableBufferPointer<UInt8>) throws(CIFARError) in
                for record in 0..<records {
                    let head = record * recordSize
                    // CIFAR-100: byte 0 is the coarse label, byte 1 the fine one; check both.
                    if fine != 0, Int(source[head]) >= coarseCount {
                        throw .labelOutOfRange(path: path, record: record, label: Int(source[head]), classCount: coarseCount)
                    }
                    if Int(source[head + fine]) >= fineCount {
                        throw .labelOutOfRange(path: path, record: record, label: Int(source[head + fine]), classCount: fineCount)
                    }
                    labels[start + record] = Int32(source[head + used])
                    (target.baseAddress! + (start + record) * CIFARImage.bytes)
                        .update(from: source.baseAddress! + head + dataset.labelBytes, count: CIFARImage.bytes)
                }
            }
        }
    }

    /// The class names (one per line, blank lines ignored), checked against the class count.
    /// The class names from the release's text file; for CIFAR-10 without batches.meta.txt,
    /// the release's fixed names (``Dataset/cifar10ClassNames``) and `fixed` true.
    func classNames(in folder: String) throws(CIFARError) -> (names: [String], fixed: Bool) {
        let path = CIFARFolder.join(folder, dataset.classNamesFile(coarseLabels: coarseLabels))
        switch fileAccess.entry(path) {
        case .missing where dataset == .cifar10: return (Dataset.cifar10ClassNames, true)
        case .missing: throw .missingFile(path: path, dataset: dataset)
        case .directory: throw .isADirectory(path: path)
        case .file(let size) where size > Self.maxClassNamesBytes:
            throw .fileTooLarge(path: path, size: size, limit: Self.maxClassNamesBytes)
        case .file: break
        }
        let text = String(decoding: try readAll(path), as: UTF8.self)
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let expected = dataset.classCount(coarseLabels: coarseLabels)
        guard names.count == expected else {
            throw .classNameCount(path: path, found: names.count, expected: expected)
        }
        return (names, false)
    }

    private func readAll(_ path: String) throws(CIFARError) -> [UInt8] {
        do {
            return try fileAccess.readAll(path)
        } catch {
            throw .unreadable(path: path, reason: error.reason)
        }
    }
}
