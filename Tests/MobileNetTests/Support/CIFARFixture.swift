import Foundation
import Testing
@testable import MobileNet

/// Small CIFAR-format folders written by the tests, with the values they must load as.
enum CIFARFixture {
    /// What a split must load as.
    struct Split {
        var images: [UInt8] = []
        /// CIFAR-10 labels, or CIFAR-100 fine labels.
        var labels: [Int32] = []
        /// CIFAR-100 coarse labels (empty for CIFAR-10).
        var coarse: [Int32] = []
        var count: Int { labels.count }
    }

    static let cifar10Names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    static let fineNames = (0..<100).map { "fine\($0)" }
    static let coarseNames = (0..<20).map { "coarse\($0)" }

    /// A fresh empty folder under the system temporary directory.
    static func temporaryFolder() -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("cifar-test-XXXXXX").utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func write(_ bytes: [UInt8], to path: String) {
        let created = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        precondition(created, "test fixture: cannot write \(path)")
    }

    static func write(lines: [String], to path: String) {
        write(Array((lines.joined(separator: "\n") + "\n\n").utf8), to: path)
    }

    /// `count` images of pseudo-random bytes with pseudo-random labels.
    static func split(count: Int, classes: Int, coarseClasses: Int? = nil, seed: UInt64) -> Split {
        var rng = TestRNG(seed: seed)
        var split = Split()
        for _ in 0..<count {
            split.labels.append(Int32(rng.next() % UInt64(classes)))
            if let coarseClasses { split.coarse.append(Int32(rng.next() % UInt64(coarseClasses))) }
            split.images += (0..<CIFARImage.bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        return split
    }

    /// The records of images `range` of `split`: label byte(s) then the 3072 image bytes.
    static func records(_ split: Split, _ range: Range<Int>) -> [UInt8] {
        var bytes: [UInt8] = []
        for i in range {
            if !split.coarse.isEmpty { bytes.append(UInt8(split.coarse[i])) }
            bytes.append(UInt8(split.labels[i]))
            bytes += split.images[i * CIFARImage.bytes..<(i + 1) * CIFARImage.bytes]
        }
        return bytes
    }

    /// Writes a CIFAR-10 folder: data_batch_1…5.bin with `trainCounts` records, test_batch.bin,
    /// batches.meta.txt.
    @discardableResult
    static func writeCIFAR10(in folder: String, trainCounts: [Int] = [3, 2, 4, 1, 2], testCount: Int = 5,
                             seed: UInt64 = 1) -> (train: Split, test: Split) {
        precondition(trainCounts.count == 5)
        let train = split(count: trainCounts.reduce(0, +), classes: 10, seed: seed)
        let test = split(count: testCount, classes: 10, seed: seed + 1)
        var start = 0
        for (file, count) in zip(Dataset.cifar10.batchFiles(.train), trainCounts) {
            write(records(train, start..<start + count), to: folder + "/" + file)
            start += count
        }
        write(records(test, 0..<testCount), to: folder + "/test_batch.bin")
        write(lines: cifar10Names, to: folder + "/batches.meta.txt")
        return (train, test)
    }

    /// Writes a CIFAR-100 folder: train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt.
    @discardableResult
    static func writeCIFAR100(in folder: String, trainCount: Int = 6, testCount: Int = 3,
                              seed: UInt64 = 7) -> (train: Split, test: Split) {
        let train = split(count: trainCount, classes: 100, coarseClasses: 20, seed: seed)
        let test = split(count: testCount, classes: 100, coarseClasses: 20, seed: seed + 1)
        write(records(train, 0..<trainCount), to: folder + "/train.bin")
        write(records(test, 0..<testCount), to: folder + "/test.bin")
        write(lines: fineNames, to: folder + "/fine_label_names.txt")
        write(lines: coarseNames, to: folder + "/coarse_label_names.txt")
        return (train, test)
    }

    /// Runs `body` on a fresh folder and removes it afterwards.
    static func withFolder<T>(_ body: (String) throws -> T) rethrows -> T {
        let folder = temporaryFolder()
        defer { remove(folder) }
        return try body(folder)
    }
}

/// Expects `body` to throw exactly `expected`, with a message naming `file` and mentioning `details`.
func expectCIFARError(
    _ expected: CIFARError, naming file: String, mentioning details: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(expected), but loading succeeded", sourceLocation: sourceLocation)
    } catch let error as CIFARError {
        #expect(error == expected, sourceLocation: sourceLocation)
        for text in [file] + details {
            #expect(error.description.contains(text), "message \"\(error)\" does not mention \(text)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}
