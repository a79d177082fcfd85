import Foundation
import Testing
@testable import MobileNet

/// Every bad input of ``ImageDecoder``: the exact ``ImageError``, a message naming the file,
/// and no trap. The files are in Fixtures/images/bad (bad.tsv lists the case each must give).
@Suite struct ImageDecoderErrorTests {
    static func bad(_ name: String) -> String { ImageDecoderTests.folder("bad/" + name) }

    /// Decodes `path`, expecting an error; nil (and a recorded issue) when it decoded.
    static func error(decoding path: String, maximumPixels: Int = ImageDecoder.defaultMaximumPixels,
                      sourceLocation: SourceLocation = #_sourceLocation) -> ImageError? {
        do {
            let image = try ImageDecoder.decode(contentsOf: path, maximumPixels: maximumPixels)
            Issue.record("\(path) decoded to \(image.width)×\(image.height)", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.description.contains(path), "\(error)", sourceLocation: sourceLocation)
            return error
        }
    }

    @Test func everyBadFixtureGivesItsErrorNamingTheFile() {
        let rows = ImageDecoderTests.manifest("bad.tsv")
        #expect(rows.count == 10)
        for row in rows {
            let error = Self.error(decoding: Self.bad(row[0]))
            #expect(error.map(FuzzOutcomeName.caseName) == row[1], "\(row[0]): \(String(describing: error))")
        }
    }

    @Test func corruptAndTruncatedFilesCarryTheLibrarysMessage() {
        #expect(Self.error(decoding: Self.bad("corrupt.png")) == .corrupt(path: Self.bad("corrupt.png"), format: .png, reason: "IDAT: invalid code lengths set"))
        #expect(Self.error(decoding: Self.bad("truncated.png")) == .corrupt(path: Self.bad("truncated.png"), format: .png, reason: "read beyond end of data"))
        #expect(Self.error(decoding: Self.bad("truncated.jpg"))
                == .corrupt(path: Self.bad("truncated.jpg"), format: .jpeg, reason: JPEGDecoding.truncationWarning))
        #expect(Self.error(decoding: Self.bad("header-only.jpg"))
                == .corrupt(path: Self.bad("header-only.jpg"), format: .jpeg, reason: "Invalid JPEG file structure: missing SOS marker"))
    }

    @Test func notAnImageIsNamedWhateverItsExtension() {
        #expect(Self.error(decoding: Self.bad("text.png")) == .notPNGOrJPEG(path: Self.bad("text.png"), detectedFormat: nil))
        let gif = Self.error(decoding: Self.bad("gif.jpg"))
        #expect(gif == .notPNGOrJPEG(path: Self.bad("gif.jpg"), detectedFormat: "GIF"))
        #expect(gif?.description.contains("is a GIF image") == true)
    }

    @Test func headersClaiming20000By20000AreRefusedBeforeAllocating() {
        let limit = ImageDecoder.defaultMaximumPixels
        for name in ["bomb-20000x20000.png", "bomb-20000x20000.jpg"] {
            let error = Self.error(decoding: Self.bad(name))
            #expect(error == .tooManyPixels(path: Self.bad(name), width: 20000, height: 20000, limit: limit))
            #expect(error?.description.contains("20000×20000 = 400000000 pixels") == true)
        }
    }

    /// The command line has no flag raising the pixel limit, so the message must not offer
    /// one: it says what to shrink the image to (8192² = 67108864, 76² = 5776 ≤ 5916 < 77²).
    @Test func tooManyPixelsSaysWhatSizeToShrinkTo() {
        let big = ImageError.tooManyPixels(path: "p/big.png", width: 20000, height: 20000, limit: ImageDecoder.defaultMaximumPixels)
        #expect(big.description.hasSuffix("Shrink it to at most 67108864 pixels (8192×8192, say) first, or remove it."), "\(big)")
        #expect(!big.description.contains("raise the limit"))
        let small = ImageError.tooManyPixels(path: "p/s.jpg", width: 97, height: 61, limit: 97 * 61 - 1)
        #expect(small.description.hasSuffix("Shrink it to at most 5916 pixels (76×76, say) first, or remove it."), "\(small)")
    }

    @Test func pixelLimitIsInclusiveAndAppliesToEveryFormat() throws {
        let png = ImageDecoderTests.folder("decode/rgb-97x61.png")
        let jpeg = ImageDecoderTests.folder("decode/rgb-97x61.jpg")
        for path in [png, jpeg] {
            #expect(try ImageDecoder.decode(contentsOf: path, maximumPixels: 97 * 61).width == 97)
            #expect(Self.error(decoding: path, maximumPixels: 97 * 61 - 1)
                    == .tooManyPixels(path: path, width: 97, height: 61, limit: 97 * 61 - 1))
        }
    }

    @Test func cmykJPEGIsUnsupported() {
        let error = Self.error(decoding: Self.bad("cmyk.jpg"))
        #expect(error == .unsupported(path: Self.bad("cmyk.jpg"), format: .jpeg,
                                      reason: "it is a YCCK (Adobe CMYK) JPEG, which libjpeg-turbo does not convert to RGB")
                || error == .unsupported(path: Self.bad("cmyk.jpg"), format: .jpeg,
                                         reason: "it is a CMYK JPEG, which libjpeg-turbo does not convert to RGB"))
    }

    @Test func emptyFileFolderAndMissingFileAreNamed() throws {
        #expect(Self.error(decoding: Self.bad("empty.png")) == .emptyFile(path: Self.bad("empty.png")))
        try CIFARFixture.withFolder { folder in
            let sub = folder + "/cat.png"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
            #expect(Self.error(decoding: sub) == .isADirectory(path: sub))
            #expect(Self.error(decoding: folder + "/dog.jpg") == .unreadable(path: folder + "/dog.jpg", reason: "No such file or directory"))
        }
        #expect(throws: ImageError.emptyFile(path: "memory")) {
            try ImageDecoder.decode(UnsafeRawBufferPointer(start: nil, count: 0), path: "memory")
        }
    }

    /// chmod 000: a user gets "Permission denied"; root (as CI runs) reads the file anyway, so
    /// there the test asserts that, and the read failure itself comes through the seam.
    @Test func unreadableFileSaysWhy() throws {
        try CIFARFixture.withFolder { folder in
            let path = folder + "/locked.png"
            try FileManager.default.copyItem(atPath: ImageDecoderTests.folder("decode/rgb-20x13.png"), toPath: path)
            chmod(path, 0)
            defer { chmod(path, 0o644) }
            if geteuid() == 0 {
                #expect(try ImageDecoder.decode(contentsOf: path).width == 20)
            } else {
                #expect(Self.error(decoding: path) == .unreadable(path: path, reason: "Permission denied"))
            }
        }
        let failing = CIFARFileAccess(entry: { _ in .file(size: 100) },
                                      readAll: { _ throws(CIFARFileAccess.ReadFailure) in throw .init(reason: "Input/output error") })
        #expect(throws: ImageError.unreadable(path: "/photos/a.png", reason: "Input/output error")) {
            try ImageDecoder.decode(contentsOf: "/photos/a.png", maximumPixels: 100, fileAccess: failing)
        }
    }

    @Test func fileLargerThanAnyImageWithinTheLimitIsNotRead() {
        let limit = ImageDecoder.maximumFileBytes(maximumPixels: 1000)
        #expect(limit == 8000 + 64 << 20)
        #expect(ImageDecoder.maximumFileBytes(maximumPixels: Int.max) == Int.max)
        let huge = CIFARFileAccess(entry: { _ in .file(size: limit + 1) },
                                   readAll: { _ throws(CIFARFileAccess.ReadFailure) in
                                       Issue.record("read a file over the size limit")
                                       return []
                                   })
        #expect(throws: ImageError.fileTooLarge(path: "/a.jpg", size: limit + 1, limit: limit)) {
            try ImageDecoder.decode(contentsOf: "/a.jpg", maximumPixels: 1000, fileAccess: huge)
        }
    }
}

/// The enum case name of an error ("corrupt" for `.corrupt(path:format:reason:)`).
enum FuzzOutcomeName {
    static func caseName(_ error: ImageError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }
}
