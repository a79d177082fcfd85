import Foundation
import Testing
@testable import MobileNet

/// Every bad image folder is an error naming the folder or file and what to do; nothing
/// traps, and a folder too large for memory is refused before anything is decoded.
@Suite struct ImageFolderErrorTests {
    /// The error `body` throws, or nil (recording a failure) when it throws none or another kind.
    static func folderError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> ImageFolderError? {
        do {
            try body()
            Issue.record("expected an ImageFolderError, got none", sourceLocation: sourceLocation)
        } catch let error as ImageFolderError {
            return error
        } catch {
            Issue.record("expected an ImageFolderError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Loads every image of the tree at `root` at 8×8.
    static func load(_ root: String, loader: ImageFolderLoader = ImageFolderLoader(imageSide: 8)) throws {
        let folder = try ImageFolder.scan(root)
        _ = try loader.load(folder.samples, classNames: folder.classNames)
    }

    /// A truncated PNG, a text file named .jpg and an empty .png: every failure is listed
    /// with its file and the decoder's reason, after the others were tried.
    @Test func badImagesAreNamedTogether() throws {
        try CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["a", "b"], perClass: 2)
            let good = try Data(contentsOf: URL(fileURLWithPath: root + "/a/0.png"))
            try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: root + "/a/1.png"))
            CIFARFixture.write(Array("not a picture\n".utf8), to: root + "/b/0.jpg")
            CIFARFixture.write([], to: root + "/b/2.png")
            let error = Self.folderError { try Self.load(root) }
            guard case .unreadableImages(let count, let failures)? = error else { return }
            #expect(count == 3 && failures.count == 3)
            #expect(failures[0].contains(root + "/a/1.png") && failures[0].contains("PNG"))
            #expect(failures[1].contains(root + "/b/0.jpg") && failures[1].contains("neither a PNG nor a JPEG"))
            #expect(failures[2].contains(root + "/b/2.png") && failures[2].contains("empty"))
            #expect(error?.description.contains("nothing was trained") == true)
        }
    }

    /// Above the decoder's pixel limit an image is refused from its header (the loader's
    /// limit here 63 pixels, an 8×8 image has 64); a read failure (injected: root reads
    /// anything) names the file and the system's reason.
    @Test func tooLargeAndUnreadableImagesAreNamed() throws {
        CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["a", "b"], perClass: 1)
            let small = ImageFolderLoader(imageSide: 8, maximumPixels: 63)
            guard case .unreadableImages(2, let failures)? = Self.folderError({ try Self.load(root, loader: small) }) else { return }
            #expect(failures[0].contains(root + "/a/0.png") && failures[0].contains("8×8") && failures[0].contains("63"))
            let failing = CIFARFileAccess(entry: CIFARFileAccess.system.entry) { path throws(CIFARFileAccess.ReadFailure) in
                if path.hasSuffix("b/0.png") { throw CIFARFileAccess.ReadFailure(reason: "Permission denied") }
                return try CIFARFileAccess.system.readAll(path)
            }
            let loader = ImageFolderLoader(imageSide: 8, maximumPixels: 1 << 20, fileAccess: failing)
            guard case .unreadableImages(1, let reasons)? = Self.folderError({ try Self.load(root, loader: loader) }) else { return }
            #expect(reasons[0].contains(root + "/b/0.png") && reasons[0].contains("Permission denied"))
        }
    }

    @Test func emptyClassFolderOneClassAndNoClassesAreRefused() throws {
        try CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["a", "b"], perClass: 1)
            try FileManager.default.createDirectory(atPath: root + "/c/sub", withIntermediateDirectories: true)
            CIFARFixture.write([1], to: root + "/c/sub/notes.txt")
            #expect(Self.folderError { _ = try ImageFolder.scan(root) } == .emptyClassFolders(paths: [root + "/c"]))
            #expect(ImageFolderError.emptyClassFolders(paths: [root + "/c"]).description.contains("\(root)/c holds no .png/.jpg/.jpeg file"))
        }
        CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["only"], perClass: 2)
            let error = Self.folderError { _ = try ImageFolder.scan(root) }
            #expect(error == .oneClass(path: root, className: "only"))
            #expect(error?.description.contains("at least two") == true)
        }
        CIFARFixture.withFolder { root in
            CIFARFixture.write([1], to: root + "/loose.png")
            #expect(Self.folderError { _ = try ImageFolder.scan(root) } == .noClassFolders(path: root))
            #expect(Self.folderError { _ = try ImageFolder.scan(root + "/missing") } == .missingFolder(path: root + "/missing"))
            #expect(Self.folderError { _ = try ImageFolder.scan(root + "/loose.png") } == .notAFolder(path: root + "/loose.png"))
        }
    }

    @Test func validationClassesMustBeTrainingsClasses() throws {
        CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, split: "train", classes: ["cat", "dog", "emu"], perClass: 1)
            _ = ImageFolderFixture.tree(root, split: "val", classes: ["cat", "dog", "fox"], perClass: 1)
            let error = Self.folderError { _ = try ImageFolderLayout.scan(root) }
            #expect(error == .classesDiffer(train: root + "/train", other: root + "/val", onlyInTrain: ["emu"], onlyInOther: ["fox"]))
            #expect(error?.description.contains("only in \(root)/train: emu; only in \(root)/val: fox") == true)
        }
    }

    /// A link to a folder it sits in, and a link to itself, are loops; a link elsewhere is followed.
    @Test func symlinkLoopsAreRefused() throws {
        try CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["a", "b"], perClass: 1)
            try FileManager.default.createDirectory(atPath: root + "/a/deeper", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + "/a/deeper/up", withDestinationPath: root + "/a")
            #expect(Self.folderError { _ = try ImageFolder.scan(root) } == .symlinkLoop(path: root + "/a/deeper/up"))
            try FileManager.default.removeItem(atPath: root + "/a/deeper/up")
            try FileManager.default.createSymbolicLink(atPath: root + "/b/self.png", withDestinationPath: root + "/b/self.png")
            let error = Self.folderError { _ = try ImageFolder.scan(root) }
            #expect(error == .symlinkLoop(path: root + "/b/self.png"))
            #expect(error?.description.contains("symbolic link") == true)
        }
    }

    /// A name that is not UTF-8 (Latin-1 "café.png") is named with its byte escaped.
    @Test func nonUTF8NamesAreNamedEscaped() throws {
        CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, classes: ["a", "b"], perClass: 1)
            let raw = Array((root + "/a/caf").utf8) + [0xE9] + Array(".png".utf8) + [0]
            let fd = raw.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) } }
            #expect(fd >= 0)
            close(fd)
            let error = Self.folderError { _ = try ImageFolder.scan(root) }
            #expect(error == .nameNotUTF8(folder: root + "/a", escapedName: "caf\\xE9.png"))
            #expect(error?.description.contains("Rename it in UTF-8") == true)
        }
    }

    /// The memory check comes before any decoding and names the figure and the flag; one
    /// tree without --val-split and train/ without val/ are refused with what to do.
    @Test func runDataRefusesWhatItCannotUse() throws {
        CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root, split: "train", classes: ["a", "b"], perClass: 2)
            CIFARFixture.write(Array("corrupt".utf8), to: root + "/train/a/9.png")
            var options = TrainingOptions()
            options.imageSize = 64
            options.validationSplit = 1
            // 5 images × 3·64² = 61,440 bytes against 60,000: refused before the corrupt file is read.
            let error = Self.folderError { _ = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 60_000, recorded: nil) }
            #expect(error == .exceedsMemory(path: root, images: 5, imageSide: 64, bytes: 61_440, limit: 60_000, flag: "--max-memory"))
            #expect(error?.description.contains("take 60.0 KiB in memory (3·64² = 12288 bytes each), more than --max-memory 58.6 KiB; nothing was decoded") == true)
            options.validationSplit = 0
            #expect(Self.folderError { _ = try RunData.load(path: root, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 30, recorded: nil) }
                    == .noEvaluationFolder(path: root))
            #expect {
                try RunData.load(path: root, options: options, dataset: nil, coarseLabels: true, maxMemory: 1 << 30, recorded: nil)
            } throws: { "\($0)".contains("--coarse-labels applies to CIFAR-100") }
            let tree = root + "/train"
            let needsSplit = Self.folderError { _ = try RunData.load(path: tree, options: options, dataset: nil, coarseLabels: false, maxMemory: 1 << 30, recorded: nil) }
            #expect(needsSplit == .needsValidationSplit(path: tree, flag: "--val-split"))
        }
    }

    @Test func memorySizesParseAndPrintInBinaryUnits() {
        #expect(MemorySize.parse("512M") == 512 << 20 && MemorySize.parse("4G") == 4 << 30 && MemorySize.parse("4GiB") == 4 << 30)
        #expect(MemorySize.parse("1.5g") == 3 << 29 && MemorySize.parse("2048") == 2048 && MemorySize.parse("4GB") == 4 << 30)
        #expect(MemorySize.parse("lots") == nil && MemorySize.parse("-1G") == nil && MemorySize.parse("G") == nil && MemorySize.parse("1e30T") == nil)
        #expect(MemorySize.text(3 << 30) == "3.0 GiB" && MemorySize.text(150 << 20) == "150.0 MiB" && MemorySize.text(100) == "100 bytes")
    }
}
