import Foundation
import Testing
@testable import MobileNet

/// The data cases of "bad input gets a clear error" that CIFARTests does not cover:
/// each asserts the exact ``CIFARError`` and that its message names the file.
@Suite struct DataErrorTests {
    /// A seam serving `files` (path → bytes) and `folders` from memory; `claimedSizes`
    /// overrides the size the seam reports for a path; reading an `unreadable` path fails
    /// with "Permission denied" (as it would for a user without read permission).
    static func memory(_ files: [String: [UInt8]], folders: Set<String>,
                       claimedSizes: [String: Int] = [:], unreadable: Set<String> = []) -> CIFARFileAccess {
        CIFARFileAccess(
            entry: { path in
                if folders.contains(path) { return .directory }
                guard let bytes = files[path] else { return .missing }
                return .file(size: claimedSizes[path] ?? bytes.count)
            },
            readAll: { path throws(CIFARFileAccess.ReadFailure) in
                if unreadable.contains(path) { throw CIFARFileAccess.ReadFailure(reason: "Permission denied") }
                guard let bytes = files[path] else { throw CIFARFileAccess.ReadFailure(reason: "No such file or directory") }
                return bytes
            })
    }

    /// A CIFAR-10 test split in memory: test_batch.bin holding `batch`, and the class names.
    static func cifar10Test(_ batch: [UInt8], claimedSize: Int? = nil) -> CIFARFileAccess {
        memory(["/d/test_batch.bin": batch, "/d/batches.meta.txt": Array(CIFARFixture.cifar10Names.joined(separator: "\n").utf8)],
               folders: ["/d"], claimedSizes: claimedSize.map { ["/d/test_batch.bin": $0] } ?? [:])
    }

    @Test func cifar10RecordsUnderACifar100NameAreRecognisedBySize() {
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR100(in: folder)
            let ten = CIFARFixture.split(count: 5, classes: 10, seed: 9)
            let path = folder + "/train.bin"
            CIFARFixture.write(CIFARFixture.records(ten, 0..<5), to: path)
            expectCIFARError(
                .wrongDataset(path: path, expected: .cifar100, found: .cifar10,
                              evidence: "its 15365 bytes are 5 records of 3073 bytes (1 label byte + 3072), not 3074-byte records"),
                naming: "train.bin", mentioning: ["CIFAR-10", "cifar10"]) {
                _ = try CIFARDataset.load(directory: folder, split: .train)
            }
        }
    }

    @Test func cifar100RecordsWhoseSizeAlsoFitsCifar10AreCaughtByTheirLabels() {
        // 3073 CIFAR-100 records are 3074 CIFAR-10 records by size; read as CIFAR-10, the
        // coarse label 12 of record 0 is out of CIFAR-10's range and the message points to CIFAR-100.
        var batch = [UInt8](repeating: 3, count: 3073 * 3074)
        batch[0] = 12
        expectCIFARError(.labelOutOfRange(path: "/d/test_batch.bin", record: 0, label: 12, classCount: 10),
                         naming: "test_batch.bin", mentioning: ["record 0", "CIFAR-100"]) {
            _ = try CIFARDataset.load(directory: "/d", split: .test, dataset: .cifar10, fileAccess: Self.cifar10Test(batch))
        }
    }

    @Test func cifar100FolderGivenAsCifar10IsNamed() {
        CIFARFixture.withFolder { folder in
            let sub = folder + "/cifar-100-binary"
            try? FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
            CIFARFixture.writeCIFAR100(in: sub)
            expectCIFARError(.wrongDataset(path: sub, expected: .cifar10, found: .cifar100,
                                           evidence: "the folder holds cifar-100-binary, not cifar-10-batches-bin"),
                             naming: "cifar-100-binary") {
                _ = try CIFARDataset.load(directory: folder, split: .train, dataset: .cifar10)
            }
        }
    }

    @Test func cifar100PartialRecordNamesTheCifar100RecordSize() {
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR100(in: folder)
            let path = folder + "/test.bin"
            CIFARFixture.write([UInt8](repeating: 1, count: 3074 + 10), to: path)
            expectCIFARError(.partialRecord(path: path, size: 3084, recordSize: 3074), naming: "test.bin",
                             mentioning: ["3084 bytes", "3074-byte records", "1 records and 10 bytes left over"]) {
                _ = try CIFARDataset.load(directory: folder, split: .test)
            }
        }
    }

    @Test func cifar100FineLabelOutOfRangeNamesFileAndRecord() {
        CIFARFixture.withFolder { folder in
            var (train, _) = CIFARFixture.writeCIFAR100(in: folder)
            train.labels[4] = 100
            let path = folder + "/train.bin"
            CIFARFixture.write(CIFARFixture.records(train, 0..<train.count), to: path)
            expectCIFARError(.labelOutOfRange(path: path, record: 4, label: 100, classCount: 100),
                             naming: "train.bin", mentioning: ["record 4", "label 100"]) {
                _ = try CIFARDataset.load(directory: folder, split: .train)
            }
        }
    }

    @Test func directoryWhereTheClassNameFileShouldBeIsReported() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder)
            let path = folder + "/batches.meta.txt"
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            expectCIFARError(.isADirectory(path: path), naming: "batches.meta.txt", mentioning: ["class-name file"]) {
                _ = try CIFARDataset.load(directory: folder, split: .test)
            }
        }
    }

    @Test func unreadableClassNameFileIsReported() {
        let hundred = CIFARFixture.split(count: 2, classes: 100, coarseClasses: 20, seed: 4)
        let path = "/d/fine_label_names.txt"
        let access = Self.memory(["/d/train.bin": CIFARFixture.records(hundred, 0..<2),
                                  path: Array(CIFARFixture.fineNames.joined(separator: "\n").utf8)],
                                 folders: ["/d"], unreadable: [path])
        expectCIFARError(.unreadable(path: path, reason: "Permission denied"), naming: "fine_label_names.txt",
                         mentioning: ["Permission denied"]) {
            _ = try CIFARDataset.load(directory: "/d", split: .train, fileAccess: access)
        }
    }

    @Test func fileThatChangesSizeWhileBeingReadIsReported() {
        // The seam reports two records but the read returns one.
        let record = CIFARFixture.records(CIFARFixture.split(count: 1, classes: 10, seed: 2), 0..<1)
        expectCIFARError(.unreadable(path: "/d/test_batch.bin", reason: "its size changed while it was being read (6146 → 3073 bytes)"),
                         naming: "test_batch.bin") {
            _ = try CIFARDataset.load(directory: "/d", split: .test, fileAccess: Self.cifar10Test(record, claimedSize: 2 * 3073))
        }
    }

    @Test func fileClaimingTerabytesIsRejectedBeforeAllocating() {
        // 2²⁸ whole records (825 GB): loading it would allocate as much; it is refused from the size alone.
        let record = CIFARFixture.records(CIFARFixture.split(count: 1, classes: 10, seed: 2), 0..<1)
        let claimed = 3073 << 28
        expectCIFARError(.fileTooLarge(path: "/d/test_batch.bin", size: claimed, limit: 3073 << 20),
                         naming: "test_batch.bin", mentioning: ["\(claimed) bytes"]) {
            _ = try CIFARDataset.load(directory: "/d", split: .test, fileAccess: Self.cifar10Test(record, claimedSize: claimed))
        }
        let names = Array(CIFARFixture.cifar10Names.joined(separator: "\n").utf8)
        let access = Self.memory(["/d/test_batch.bin": record, "/d/batches.meta.txt": names], folders: ["/d"],
                                 claimedSizes: ["/d/batches.meta.txt": 1 << 40])
        expectCIFARError(.fileTooLarge(path: "/d/batches.meta.txt", size: 1 << 40, limit: 1 << 20), naming: "batches.meta.txt") {
            _ = try CIFARDataset.load(directory: "/d", split: .test, fileAccess: access)
        }
    }
}
