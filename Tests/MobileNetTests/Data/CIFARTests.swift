import Foundation
import Testing
@testable import MobileNet

@Suite struct CIFARTests {
    @Test func cifar10RoundTripKeepsPixelsLabelsAndFileOrder() throws {
        try CIFARFixture.withFolder { folder in
            let expected = CIFARFixture.writeCIFAR10(in: folder)
            let train = try CIFARDataset.load(directory: folder, split: .train)
            #expect(train.dataset == .cifar10)
            #expect(train.count == 12)
            #expect(train.images == expected.train.images)
            #expect(train.labels == expected.train.labels)
            #expect(train.classNames == CIFARFixture.cifar10Names)
            let test = try CIFARDataset.load(directory: folder, split: .test, dataset: .cifar10)
            #expect(test.images == expected.test.images)
            #expect(test.labels == expected.test.labels)
        }
    }

    @Test func limitReadsOnlyTheFirstImagesAcrossFiles() throws {
        try CIFARFixture.withFolder { folder in
            let expected = CIFARFixture.writeCIFAR10(in: folder)
            // 3 + 2 records come from the first two files, the sixth from data_batch_3.bin.
            let first6 = try CIFARDataset.load(directory: folder, split: .train, limit: 6)
            #expect(first6.labels == Array(expected.train.labels[0..<6]))
            #expect(first6.images == Array(expected.train.images[0..<6 * 3072]))
        }
    }

    @Test func redPlaneComesFirstAndLandsAtItsFeatureMapElement() throws {
        try CIFARFixture.withFolder { folder in
            // Image 1 of 2 has one marked pixel (y 3, x 5): R 200, G 100, B 50; all else 0.
            var images = [UInt8](repeating: 0, count: 2 * 3072)
            let pixel = 3 * 32 + 5
            images[3072 + 0 * 1024 + pixel] = 200
            images[3072 + 1 * 1024 + pixel] = 100
            images[3072 + 2 * 1024 + pixel] = 50
            let split = CIFARFixture.Split(images: images, labels: [4, 9])
            CIFARFixture.writeCIFAR10(in: folder)
            CIFARFixture.write(CIFARFixture.records(split, 0..<2), to: folder + "/test_batch.bin")
            let test = try CIFARDataset.load(directory: folder, split: .test)
            #expect(test.images[3072 + pixel] == 200)

            let batch = FeatureMap(shape: FeatureShape(channels: 3, height: 32, width: 32, batch: 2))
            var labels = [Int32](repeating: -1, count: 2)
            BatchAssembler(dataset: test, options: .evaluation, seed: 0)
                .assemble(indices: [0, 1], epoch: 0, into: batch, labels: &labels)
            #expect(labels == [4, 9])
            // Element (n 1, c, y 3, x 5) at ((c·32 + 3)·32 + 5)·2 + 1; values by hand:
            // (200/255 − 0.4914)/0.2023, (100/255 − 0.4822)/0.1994, (50/255 − 0.4465)/0.2010.
            let marked = (0..<3).map { c in batch.data[((c * 32 + 3) * 32 + 5) * 2 + 1] }
            expectAllClose(marked, [1.4479177, -0.45157036, -1.2458785], "marked pixel")
            // The same place in image 0 holds zeros: −mean/std.
            let unmarked = (0..<3).map { c in batch.data[((c * 32 + 3) * 32 + 5) * 2 + 0] }
            expectAllClose(unmarked, [-2.4290657, -2.4182549, -2.221393], "unmarked pixel")
        }
    }

    @Test func cifar100ReadsFineLabelsByDefaultAndCoarseOnRequest() throws {
        try CIFARFixture.withFolder { folder in
            let expected = CIFARFixture.writeCIFAR100(in: folder)
            let fine = try CIFARDataset.load(directory: folder, split: .train)
            #expect(fine.dataset == .cifar100)
            #expect(fine.labels == expected.train.labels)
            #expect(fine.images == expected.train.images)
            #expect(fine.classNames == CIFARFixture.fineNames)
            let coarse = try CIFARDataset.load(directory: folder, split: .test, dataset: .cifar100, coarseLabels: true)
            #expect(coarse.labels == expected.test.coarse)
            #expect(coarse.images == expected.test.images)
            #expect(coarse.classNames == CIFARFixture.coarseNames)
        }
    }

    @Test func parentFolderOfTheExtractedArchiveIsAccepted() throws {
        try CIFARFixture.withFolder { parent in
            let inner = parent + "/cifar-100-binary"
            try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: false)
            let expected = CIFARFixture.writeCIFAR100(in: inner)
            let test = try CIFARDataset.load(directory: parent, split: .test)
            #expect(test.dataset == .cifar100)
            #expect(test.labels == expected.test.labels)
        }
    }

    @Test func folderProblemsNameTheFolder() {
        CIFARFixture.withFolder { folder in
            let missing = folder + "/nowhere"
            expectCIFARError(.missingFolder(path: missing), naming: missing) {
                _ = try CIFARDataset.load(directory: missing, split: .train)
            }
            let file = folder + "/a-file"
            CIFARFixture.write([1], to: file)
            expectCIFARError(.notAFolder(path: file), naming: file) {
                _ = try CIFARDataset.load(directory: file, split: .train)
            }
            expectCIFARError(.unrecognisedFolder(path: folder), naming: folder) {
                _ = try CIFARDataset.load(directory: folder, split: .test)
            }
        }
    }

    @Test func missingEmptyOrDirectoryBatchFilesAreReported() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder)
            let third = folder + "/data_batch_3.bin"
            try FileManager.default.removeItem(atPath: third)
            expectCIFARError(.missingFile(path: third, dataset: .cifar10), naming: "data_batch_3.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .train)
            }
            try FileManager.default.createDirectory(atPath: third, withIntermediateDirectories: false)
            expectCIFARError(.isADirectory(path: third), naming: "data_batch_3.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .train)
            }
            CIFARFixture.write([], to: folder + "/test_batch.bin")
            expectCIFARError(.emptyFile(path: folder + "/test_batch.bin"), naming: "test_batch.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .test)
            }
            try FileManager.default.removeItem(atPath: third)
            CIFARFixture.writeCIFAR10(in: folder)
            // CIFAR-10's class names are fixed: a folder without batches.meta.txt uses them, and says so.
            #expect(try CIFARDataset.load(directory: folder, split: .test).classNamesFileMissing == false)
            try FileManager.default.removeItem(atPath: folder + "/batches.meta.txt")
            let fixed = try CIFARDataset.load(directory: folder, split: .test)
            #expect(fixed.classNames == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
            #expect(fixed.classNamesFileMissing)
            // CIFAR-100's class-name files stay required (its names are not built in).
            try FileManager.default.createDirectory(atPath: folder + "/c100", withIntermediateDirectories: false)
            CIFARFixture.writeCIFAR100(in: folder + "/c100")
            try FileManager.default.removeItem(atPath: folder + "/c100/fine_label_names.txt")
            expectCIFARError(.missingFile(path: folder + "/c100/fine_label_names.txt", dataset: .cifar100), naming: "fine_label_names.txt") {
                _ = try CIFARDataset.load(directory: folder + "/c100", split: .test)
            }
        }
    }

    @Test func sizeThatIsNotWholeRecordsNamesFileSizeAndRecordSize() {
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder)
            let path = folder + "/data_batch_2.bin"
            CIFARFixture.write([UInt8](repeating: 1, count: 2 * 3073 + 100), to: path)
            expectCIFARError(.partialRecord(path: path, size: 6246, recordSize: 3073), naming: "data_batch_2.bin",
                             mentioning: ["6246 bytes", "3073-byte records"]) {
                _ = try CIFARDataset.load(directory: folder, split: .train)
            }
        }
    }

    @Test func labelOutsideTheClassRangeNamesFileAndRecord() {
        CIFARFixture.withFolder { folder in
            var (train, _) = CIFARFixture.writeCIFAR10(in: folder)
            // data_batch_3.bin holds images 5..<9; its record 2 is image 7.
            train.labels[7] = 10
            let path = folder + "/data_batch_3.bin"
            CIFARFixture.write(CIFARFixture.records(train, 5..<9), to: path)
            expectCIFARError(.labelOutOfRange(path: path, record: 2, label: 10, classCount: 10), naming: "data_batch_3.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .train)
            }
        }
        CIFARFixture.withFolder { folder in
            var (_, test) = CIFARFixture.writeCIFAR100(in: folder)
            // The coarse byte is checked even when fine labels are used.
            test.coarse[1] = 20
            CIFARFixture.write(CIFARFixture.records(test, 0..<3), to: folder + "/test.bin")
            expectCIFARError(.labelOutOfRange(path: folder + "/test.bin", record: 1, label: 20, classCount: 20), naming: "test.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .test)
            }
        }
    }

    @Test func unreadableFileInjectedThroughTheSeamIsReported() {
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder)
            let path = folder + "/data_batch_4.bin"
            let system = CIFARFileAccess.system
            let access = CIFARFileAccess(entry: system.entry) { file throws(CIFARFileAccess.ReadFailure) in
                if file == path { throw CIFARFileAccess.ReadFailure(reason: "Permission denied") }
                return try system.readAll(file)
            }
            expectCIFARError(.unreadable(path: path, reason: "Permission denied"), naming: "data_batch_4.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .train, fileAccess: access)
            }
        }
    }

    @Test func wrongClassNameCountIsReported() {
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR100(in: folder)
            let path = folder + "/coarse_label_names.txt"
            CIFARFixture.write(lines: Array(CIFARFixture.coarseNames.prefix(19)), to: path)
            expectCIFARError(.classNameCount(path: path, found: 19, expected: 20), naming: "coarse_label_names.txt") {
                _ = try CIFARDataset.load(directory: folder, split: .test, coarseLabels: true)
            }
        }
    }

    @Test func cifar100GivenAsCifar10AndTheReverseAreRecognised() {
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR100(in: folder)
            expectCIFARError(.wrongDataset(path: folder + "/train.bin", expected: .cifar10, found: .cifar100,
                                           evidence: "train.bin is a CIFAR-100 file name"), naming: "train.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .train, dataset: .cifar10)
            }
        }
        CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder)
            expectCIFARError(.wrongDataset(path: folder + "/data_batch_1.bin", expected: .cifar100, found: .cifar10,
                                           evidence: "data_batch_1.bin is a CIFAR-10 file name"), naming: "data_batch_1.bin") {
                _ = try CIFARDataset.load(directory: folder, split: .test, dataset: .cifar100)
            }
            // CIFAR-100 records (3074 bytes) under a CIFAR-10 name: caught by the record size.
            let hundred = CIFARFixture.split(count: 4, classes: 100, coarseClasses: 20, seed: 3)
            let path = folder + "/data_batch_5.bin"
            CIFARFixture.write(CIFARFixture.records(hundred, 0..<4), to: path)
            do {
                _ = try CIFARDataset.load(directory: folder, split: .train)
                Issue.record("a CIFAR-100 batch loaded as CIFAR-10")
            } catch let error as CIFARError {
                guard case .wrongDataset(let errorPath, .cifar10, .cifar100, _) = error else {
                    Issue.record("expected wrongDataset, got \(error)")
                    return
                }
                #expect(errorPath == path)
                #expect(error.description.contains("3074"))
            } catch {
                Issue.record("expected CIFARError, got \(error)")
            }
        }
    }
}
