import MobileNet

/// One fuzz input for the CIFAR loader: a small CIFAR folder held in memory, one of whose
/// files (or its kind of entry) comes from the fuzzer, read through ``CIFARFileAccess``.
///
/// Byte 0 chooses the load: bits 0–1 the requested data set (1 CIFAR-10, 2 CIFAR-100,
/// else auto-detect), bit 2 the test split, bit 3 coarse labels, bit 4 a CIFAR-100 folder
/// (else CIFAR-10), bit 5 files under the archive's subfolder, bit 6 `limit: 3`, bit 7 the
/// seam claims the fuzzed file is 2⁴⁰ bytes larger than the bytes it returns (a sparse or
/// lying file: must be rejected before allocating).
/// Byte 1 chooses the fuzzed file: bits 0–3 its index in the folder's file list, bits 4–5
/// what is there (0, 1 a file holding bytes 2…; 2 nothing; 3 a folder), bit 6 reading it fails.
/// Every other file is a valid two-record batch or the right class-name list.
public struct CIFARFuzzInput: Sendable {
    public let dataset: Dataset?
    public let split: Split
    public let coarseLabels: Bool
    public let limit: Int?
    public let fileAccess: CIFARFileAccess
    /// The folder passed to ``CIFARDataset/load(directory:split:dataset:coarseLabels:limit:fileAccess:)``.
    public let directory = "/fuzz"

    public init(_ bytes: [UInt8]) {
        let options = bytes.first ?? 0
        let target = bytes.count > 1 ? bytes[1] : 0
        let content = Array(bytes.dropFirst(2))
        dataset = [nil, .cifar10, .cifar100, nil][Int(options & 3)]
        split = options & 4 != 0 ? .test : .train
        coarseLabels = options & 8 != 0
        limit = options & 64 != 0 ? 3 : nil
        let layout: Dataset = options & 16 != 0 ? .cifar100 : .cifar10
        let folder = options & 32 != 0 ? "/fuzz/" + layout.folderName : "/fuzz"
        var files = Self.validFiles(layout)
        let index = Int(target & 15) % files.count
        let fuzzedPath = folder + "/" + files[index].name
        files[index].bytes = content
        let contents = Dictionary(uniqueKeysWithValues: files.map { (folder + "/" + $0.name, $0.bytes) })
        let kind = (target >> 4) & 3
        let failsToRead = target & 64 != 0
        let claimsMore = options & 128 != 0
        fileAccess = CIFARFileAccess(
            entry: { path in
                if path == "/fuzz" || path == folder { return .directory }
                if path == fuzzedPath && kind == 2 { return .missing }
                if path == fuzzedPath && kind == 3 { return .directory }
                guard let bytes = contents[path] else { return .missing }
                return .file(size: bytes.count + (path == fuzzedPath && claimsMore ? 1 << 40 : 0))
            },
            readAll: { path throws(CIFARFileAccess.ReadFailure) in
                if path == fuzzedPath && failsToRead { throw CIFARFileAccess.ReadFailure(reason: "Input/output error") }
                guard let bytes = contents[path] else { throw CIFARFileAccess.ReadFailure(reason: "No such file or directory") }
                return bytes
            })
    }

    /// Loads the folder as the options say; throws ``CIFARError`` for bad data.
    public func load() throws(CIFARError) -> CIFARDataset {
        try CIFARDataset.load(directory: directory, split: split, dataset: dataset,
                              coarseLabels: coarseLabels, limit: limit, fileAccess: fileAccess)
    }

    /// The fuzz target: loading returns a data set or throws ``CIFARError``, nothing else.
    /// Returns "loaded N images" or the error's case name (see ``FuzzOutcome``).
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> String {
        let input = CIFARFuzzInput(bytes)
        let loaded: CIFARDataset
        do {
            loaded = try input.load()
        } catch {
            return FuzzOutcome.caseName(error)
        }
        // A data set that loads is consistent: one label per image, each in range.
        precondition(loaded.images.count == loaded.count * CIFARImage.bytes)
        precondition(loaded.labels.allSatisfy { $0 >= 0 && Int($0) < loaded.classNames.count })
        return "loaded \(loaded.count) images"
    }

    /// The files of a valid folder: every batch two records with in-range labels.
    public static func validFiles(_ dataset: Dataset) -> [(name: String, bytes: [UInt8])] {
        let batches = (dataset.batchFiles(.train) + dataset.batchFiles(.test)).enumerated().map { k, name in
            (name: name, bytes: records(dataset, count: 2, seed: k))
        }
        let namesFiles = dataset == .cifar10
            ? [dataset.classNamesFile(coarseLabels: false)]
            : [dataset.classNamesFile(coarseLabels: false), dataset.classNamesFile(coarseLabels: true)]
        return batches + namesFiles.map { file in
            let count = dataset.classCount(coarseLabels: file.hasPrefix("coarse"))
            return (name: file, bytes: Array((0..<count).map { "class\($0)" }.joined(separator: "\n").utf8))
        }
    }

    /// `count` records of `dataset` with labels and pixels derived from `seed`.
    public static func records(_ dataset: Dataset, count: Int, seed: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for record in 0..<count {
            let label = UInt8((seed * 7 + record * 3) % 10)
            if dataset == .cifar100 { bytes.append(label + 10) }
            bytes.append(label)
            bytes += (0..<CIFARImage.bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ record &+ seed) }
        }
        return bytes
    }

    /// Valid inputs covering each folder kind, split and file, to start the corpus from.
    public static var seeds: [(name: String, bytes: [UInt8])] {
        var seeds: [(String, [UInt8])] = []
        for (layoutBit, layout) in [(UInt8(0), Dataset.cifar10), (16, .cifar100)] {
            for (index, file) in validFiles(layout).enumerated() {
                let testSplit: UInt8 = layout.batchFiles(.test).contains(file.name) ? 4 : 0
                let coarse: UInt8 = file.name.hasPrefix("coarse") ? 8 : 0
                let content = file.name.hasSuffix(".bin") ? records(layout, count: 3, seed: index) : file.bytes
                seeds.append(("\(layout.rawValue)-\(file.name)", [layoutBit | testSplit | coarse, UInt8(index)] + content))
            }
        }
        return seeds
    }
}
