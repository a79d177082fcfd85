import Foundation
import Testing
@testable import MobileNet

/// Image folders listed as torchvision's ImageFolder lists them, decoded and brought to
/// S×S once, with their normalisation computed in the same pass.
@Suite struct ImageFolderTests {
    /// Classes are the subfolders sorted by code point (Python's sort of str), a link to a
    /// folder included: decomposed "e\u{301}" (0x65 0x301) sorts before "f" and precomposed
    /// "é" (0xE9) after it, where Swift's String order would take the two é as equal.
    @Test func classesAreSubfoldersInCodePointOrder() throws {
        try CIFARFixture.withFolder { root in
            let names = ["f", "e\u{301}", "\u{e9}", "B", "a"]
            for (k, name) in names.enumerated() { ImageFolderFixture.write([.init(path: "\(name)/0.png", seed: UInt64(k))], under: root) }
            ImageFolderFixture.write([.init(path: "../\((root as NSString).lastPathComponent)-linked/0.png")], under: root)
            let linked = root + "-linked"
            defer { CIFARFixture.remove(linked) }
            try FileManager.default.createSymbolicLink(atPath: root + "/c-link", withDestinationPath: linked)
            let folder = try ImageFolder.scan(root)
            #expect(folder.classNames.map { Array($0.unicodeScalars.map(\.value)) }
                    == [[0x42], [0x61], [0x63, 0x2D, 0x6C, 0x69, 0x6E, 0x6B], [0x65, 0x301], [0x66], [0xE9]])
            #expect(folder.samples.map(\.label) == [0, 1, 2, 3, 4, 5])
        }
    }

    /// Inside a class folder every folder below is walked, the folders in order of their
    /// paths (os.walk sorted: "a", "a b", "a-b", "a/deeper", as ' ' < '-' < '/'), each one's
    /// files by name; .png/.jpg/.jpeg in any case are images, the rest is skipped and
    /// counted, files beside the class folders too.
    @Test func filesFollowTorchvisionsWalkAndExtensions() throws {
        try CIFARFixture.withFolder { root in
            let images = ["cat/z.png", "cat/B.png", "cat/a.PNG", "cat/c.Jpeg", "cat/a/x.jpg", "cat/a b/y.png", "cat/a-b/w.png",
                          "cat/a/deeper/v.png", "dog/1.png"]
            ImageFolderFixture.write(images.map { .init(path: $0, jpeg: $0.lowercased().hasSuffix("jpg") || $0.hasSuffix("Jpeg")) }, under: root)
            for other in ["cat/notes.txt", "cat/gif.gif", "cat/png", "README.md"] { CIFARFixture.write([1, 2, 3], to: root + "/" + other) }
            let folder = try ImageFolder.scan(root)
            #expect(folder.classNames == ["cat", "dog"])
            let expected = ["cat/B.png", "cat/a.PNG", "cat/c.Jpeg", "cat/z.png", "cat/a/x.jpg", "cat/a b/y.png", "cat/a-b/w.png",
                            "cat/a/deeper/v.png", "dog/1.png"].map { root + "/" + $0 }
            #expect(folder.samples.map(\.path) == expected)
            #expect(folder.samples.map(\.label) == [0, 0, 0, 0, 0, 0, 0, 0, 1])
            #expect(folder.skippedFiles == 4)
            let note = try #require(folder.skippedNote)
            #expect(note.hasPrefix("note: skipped 4 files in \(root) that are not .png/.jpg/.jpeg (e.g. \(root)/README.md, "))
            #expect(!note.contains("\n"), "one line")
        }
    }

    /// Pixels arrive as the decoder gives them, planar; other sizes go through the resize
    /// (``ImageResize``, checked against Pillow in ImageResizeTests); mean and std are those
    /// of the S×S pixels, computed here directly in Double.
    @Test func loadingDecodesResizesAndComputesTheNormalisation() throws {
        try CIFARFixture.withFolder { root in
            let files: [ImageFolderFixture.File] = [.init(path: "a/0.png", width: 8, height: 8, seed: 1),
                                                    .init(path: "a/1.png", width: 8, height: 8, seed: 2),
                                                    .init(path: "b/0.png", width: 12, height: 9, seed: 3)]
            let written = ImageFolderFixture.write(files, under: root)
            let folder = try ImageFolder.scan(root)
            let (dataset, statistics) = try ImageFolderLoader(imageSide: 8).load(folder.samples, classNames: folder.classNames)
            #expect(dataset.count == 3 && dataset.labels == [0, 0, 1] && dataset.imageSide == 8 && dataset.classNames == ["a", "b"])
            #expect(Array(dataset.images[0..<192]) == ImageFolderFixture.planar(written["a/0.png"]!, width: 8, height: 8))
            #expect(Array(dataset.images[192..<384]) == ImageFolderFixture.planar(written["a/1.png"]!, width: 8, height: 8))
            let wide = RGBImage(width: 12, height: 9, pixels: written["b/0.png"]!)
            #expect(Array(dataset.images[384...]) == ImageResize.resizeCenterCrop(wide, side: 8))
            for c in 0..<3 {
                var values: [Double] = []
                for i in 0..<3 {
                    let plane = (i * 3 + c) * 64
                    values += dataset.images[plane ..< plane + 64].map { Double($0) / 255 }
                }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                #expect(abs(Double(statistics.mean[c]) - mean) < 1e-6 && abs(Double(statistics.std[c]) - variance.squareRoot()) < 1e-6, "channel \(c)")
            }
            // The same numbers with one thread: the sums are exact integers.
            let saved = Parallel.threadCount
            defer { setEngineThreads(saved) }
            setEngineThreads(1)
            let single = try ImageFolderLoader(imageSide: 8).load(folder.samples, classNames: folder.classNames)
            #expect(single.0 == dataset && single.1 == statistics)
        }
    }

    /// `--val-split` and `--limit-train` take positions spread over the listing: from a
    /// class-major listing of 3 classes × 4 images, 3 held out are one per class.
    @Test func spreadPositionsCoverEveryClass() {
        #expect(EvenSpread.positions(3, of: 10) == [3, 6, 9])
        #expect(EvenSpread.positions(3, of: 12) == [3, 7, 11])
        #expect(EvenSpread.positions(0, of: 5) == [] && EvenSpread.positions(5, of: 5) == [0, 1, 2, 3, 4])
        let labels = (0..<300).map { $0 / 100 }
        let held = EvenSpread.positions(30, of: 300).map { labels[$0] }
        #expect((0..<3).map { k in held.filter { $0 == k }.count } == [10, 10, 10])
    }

    /// A run on `DIR/train` + `DIR/val`, and on one tree with --val-split (no test set;
    /// the held-out images spread over the classes), with the normalisation computed from
    /// the training images alone.
    @Test func runDataOfBothLayouts() throws {
        try CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, split: "train", classes: ["x", "y"], perClass: 3)
            _ = ImageFolderFixture.tree(root, split: "val", classes: ["x", "y"], perClass: 2, seed: 50)
            CIFARFixture.write([1], to: root + "/train/x/Thumbs.db")
            CIFARFixture.write([1], to: root + "/val/y/notes.txt")
            var options = TrainingOptions()
            options.imageSize = 8
            let data = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 20, recorded: nil)
            #expect(data.kind == "image-folder" && data.train.count == 6 && data.test?.count == 4 && data.validation == nil)
            // Both folders' skipped files in one line.
            #expect(data.notes.filter { $0.contains("skipped") } == ["note: skipped 2 files in \(root) that are not .png/.jpg/.jpeg (e.g. \(root)/train/x/Thumbs.db, \(root)/val/y/notes.txt)"])
            let train = try ImageFolderLoader(imageSide: 8).load(try ImageFolder.scan(root + "/train").samples, classNames: ["x", "y"])
            #expect(data.train == train.0 && data.mean == train.1.mean && data.std == train.1.std)
            options.mean = [0.5, 0.5, 0.5]
            let given = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 20, recorded: nil)
            #expect(given.mean == [0.5, 0.5, 0.5] && given.std == train.1.std)
        }
        try CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["p", "q", "r"], perClass: 4)
            var options = TrainingOptions()
            options.imageSize = 8
            options.validationSplit = 3
            let data = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 20, recorded: nil)
            #expect(data.test == nil && data.trainImages == 12 && data.train.count == 9)
            #expect(data.validation?.labels == [0, 1, 2])
            options.seed = 99
            let otherSeed = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 20, recorded: nil)
            #expect(otherSeed.validation == data.validation && otherSeed.train == data.train, "the same held-out images for every seed")
            let samples = try ImageFolder.scan(root).samples
            let trainOnly = try ImageFolderLoader(imageSide: 8).load([0, 1, 2, 4, 5, 6, 8, 9, 10].map { samples[$0] }, classNames: ["p", "q", "r"])
            #expect(data.train == trainOnly.0 && data.mean == trainOnly.1.mean)
        }
    }

    /// CIFAR binaries are recognised first (a folder with both is CIFAR, read as before);
    /// --image-size other than 32 is refused on CIFAR.
    @Test func cifarBinariesWinBesideClassFolders() throws {
        try CIFARFixture.withFolder { root in
            let (train, test) = CIFARFixture.writeCIFAR10(in: root)
            _ = ImageFolderFixture.tree(root, classes: ["x", "y"], perClass: 1)
            var options = TrainingOptions()
            let data = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 20, recorded: nil)
            #expect(data.kind == "cifar10" && data.train.images == train.images && data.test?.labels == test.labels)
            #expect(data.mean == AugmentationOptions.cifarMean && data.std == AugmentationOptions.cifarStd && data.computed == nil)
            options.imageSize = 64
            #expect(throws: TrainingRunSetupError.self) {
                try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 20, recorded: nil)
            }
        }
    }

    /// CIFAR written as a PNG folder (as scripts/make_image_folder.py writes it: class
    /// folders, files named by record index) loads to the binaries' images byte for byte,
    /// class by class: the folder is the binaries reordered, nothing else. A run on it differs
    /// from one on the binaries by the order alone (and by the normalisation unless
    /// --mean/--std give the recipe's), which changes each epoch's shuffle and every crop.
    @Test func aPNGCopyOfCIFARIsTheBinariesReordered() throws {
        try CIFARFixture.withFolder { root in
            try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
            // Every class in both splits, in an order that is not class by class.
            var (train, test) = (CIFARFixture.split(count: 20, classes: 10, seed: 3), CIFARFixture.split(count: 10, classes: 10, seed: 4))
            train.labels = (0..<20).map { Int32($0 * 7 % 10) }
            test.labels = (0..<10).map { Int32($0 * 3 % 10) }
            for (k, file) in Dataset.cifar10.batchFiles(.train).enumerated() {
                CIFARFixture.write(CIFARFixture.records(train, (4 * k) ..< (4 * k + 4)), to: root + "/bin/" + file)
            }
            CIFARFixture.write(CIFARFixture.records(test, 0..<10), to: root + "/bin/test_batch.bin")
            CIFARFixture.write(lines: CIFARFixture.cifar10Names, to: root + "/bin/batches.meta.txt")
            for (split, records) in [("train", train), ("test", test)] {
                for i in 0..<records.count {
                    let planes = Array(records.images[i * 3072 ..< (i + 1) * 3072])
                    let rgb = (0..<1024).flatMap { p in (0..<3).map { planes[$0 * 1024 + p] } }
                    let folder = "\(root)/png/\(split)/\(CIFARFixture.cifar10Names[Int(records.labels[i])])"
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    ImageFolderFixture.writePNG(rgb, width: 32, height: 32, to: folder + "/" + String(format: "%05d.png", i))
                }
            }
            var options = TrainingOptions()
            (options.mean, options.std) = (AugmentationOptions.cifarMean, AugmentationOptions.cifarStd)
            let binaries = try RunData.load(path: root + "/bin", options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 30, recorded: nil)
            let folder = try RunData.load(path: root + "/png", options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 30, recorded: nil)
            // Class-major, record index ascending within a class: the folder's order.
            let order = { (labels: [Int32]) in labels.indices.sorted { (labels[$0], $0) < (labels[$1], $1) } }
            #expect(folder.train == binaries.train.subset(order(train.labels)))
            #expect(folder.test == binaries.test?.subset(order(test.labels)))
            #expect(folder.train.classNames == CIFARFixture.cifar10Names && folder.mean == binaries.mean && folder.std == binaries.std)
        }
    }
}
