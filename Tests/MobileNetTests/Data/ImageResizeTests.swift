import Foundation
import Testing
@testable import MobileNet

/// ``ImageResize`` against torchvision `Resize(S)` + `CenterCrop(S)` on PIL images (Pillow 13
/// BILINEAR with antialiasing), from Fixtures/images/resize (scripts/make_resize_fixtures.py;
/// its Python rule was checked once against torchvision 0.28 itself on 276 size/side pairs).
///
/// Tolerance: 0 — every reference (15 synthetic sizes from 1×40 to 500×7 at sides 32 and 24,
/// and five decoded photos at side 32) is matched byte for byte.
@Suite struct ImageResizeTests {
    struct Reference {
        let source: String
        let width: Int
        let height: Int
        let side: Int
        let file: String
    }

    static let references = ImageDecoderTests.manifest("resize.tsv").map { f in
        Reference(source: f[0], width: Int(f[1])!, height: Int(f[2])!, side: Int(f[3])!, file: f[4])
    }

    static func expected(_ reference: Reference) throws -> [UInt8] {
        try #require(ImageDecoderTests.bytes(ImageDecoderTests.folder("resize/" + reference.file)))
    }

    @Test func syntheticImagesMatchTorchvisionResizeAndCenterCrop() throws {
        let synthetic = Self.references.filter { $0.source == "synthetic" }
        #expect(synthetic.count == 30)
        for reference in synthetic {
            let image = RGBImage(width: reference.width, height: reference.height,
                                 pixels: ImageDecoderTests.pattern(width: reference.width, height: reference.height))
            let result = ImageResize.resizeCenterCrop(image, side: reference.side)
            let expected = try Self.expected(reference)
            #expect(result.count == 3 * reference.side * reference.side)
            #expect(result == expected, "\(reference.file): max |Δ| \(ImageDecoderTests.maxDifference(result, expected))")
        }
    }

    /// Decode then resize, as the image folder does: the decoded bytes are Pillow's (md5 of
    /// decode.tsv), the 3 × 32 × 32 result torchvision's.
    @Test func decodedPhotosMatchTorchvisionThroughThePipeline() throws {
        let decoded = Self.references.filter { $0.source.hasPrefix("decode/") }
        #expect(decoded.map(\.file).sorted() == ["grey-97x61.jpg-32.planar", "rgb-1x40.png-32.planar", "rgb-300x200.jpg-32.planar",
                                                  "rgb-97x61.jpg-32.planar", "rgba-97x61.png-32.planar"])
        for reference in decoded {
            let image = try ImageDecoder.decode(contentsOf: ImageDecoderTests.folder(reference.source))
            let fixture = try #require(ImageDecoderTests.decodeFixtures.first { "decode/" + $0.name == reference.source })
            #expect(MD5.hexDigest(of: image.pixels) == fixture.pillowMD5, "\(reference.source)")
            let result = ImageResize.resizeCenterCrop(image, side: reference.side)
            let expected = try Self.expected(reference)
            #expect(result == expected, "\(reference.file): max |Δ| \(ImageDecoderTests.maxDifference(result, expected))")
        }
    }

    @Test func imageAlreadyTheSideIsOnlyMadePlanar() {
        let pixels = ImageDecoderTests.pattern(width: 5, height: 5)
        let result = ImageResize.resizeCenterCrop(RGBImage(width: 5, height: 5, pixels: pixels), side: 5)
        for c in 0..<3 {
            for y in 0..<5 {
                for x in 0..<5 { #expect(result[c * 25 + y * 5 + x] == pixels[(y * 5 + x) * 3 + c]) }
            }
        }
    }

    /// Hand derivations of torchvision's size and crop arithmetic.
    @Test func resizedSizeAndCropOffsetFollowTorchvision() {
        #expect(ImageResize.resizedSize(width: 300, height: 200, side: 32) == (48, 32))
        #expect(ImageResize.resizedSize(width: 1, height: 40, side: 32) == (32, 1280))
        #expect(ImageResize.resizedSize(width: 20, height: 13, side: 32) == (49, 32))   // 640 / 13 = 49.2
        #expect(ImageResize.resizedSize(width: 97, height: 61, side: 24) == (38, 24))   // 2328 / 61 = 38.2
        #expect(ImageResize.resizedSize(width: 32, height: 32, side: 24) == (24, 24))
        #expect(ImageResize.centerCropOffset(size: 49, side: 32) == 8)                  // round(8.5), half to even
        #expect(ImageResize.centerCropOffset(size: 51, side: 32) == 10)                 // round(9.5)
        #expect(ImageResize.centerCropOffset(size: 1280, side: 32) == 624)
        #expect(ImageResize.centerCropOffset(size: 32, side: 32) == 0)
    }

    /// 4 → 2 samples: scale 2, support 2; output 0 has centre 1, taps 0…2 at distances
    /// 0.25, 0.25, 0.75 (/ 2) → weights 3/7, 3/7, 1/7 → int(0.5 + w · 2²²) = 1797559, 1797559,
    /// 599186; output 1 has centre 3, taps 1…3 → 1/7, 3/7, 3/7. On samples 0, 70, 140, 210:
    /// (2²¹ + 70 · 1797559 + 140 · 599186) >> 22 = 211812322 >> 22 = 50.
    @Test func shrinkingTapsMatchAHandDerivation() {
        let taps = ResampleTaps(inputSize: 4, outputSize: 2, outputs: 0..<2)
        #expect(taps.starts == [0, 1] && taps.counts == [3, 3])
        #expect(taps.windowSize == 5)                                   // 2 · ⌈support⌉ + 1
        #expect(taps.weights == [1797559, 1797559, 599186, 0, 0, 599186, 1797559, 1797559, 0, 0])
        #expect(taps.inputRange == 0..<4)
        // A 4 × 2 image of columns 0, 70, 140, 210 (every channel) shrunk to 2 × 1 by Resize(1)…
        let row: [UInt8] = [0, 70, 140, 210].flatMap { [UInt8]($0 == 0 ? [0, 0, 0] : [$0, $0, $0]) }
        let image = RGBImage(width: 4, height: 2, pixels: row + row)
        // …is 2 × 1, CenterCrop(1) keeps column round(0.5) = 0, whose value is 50 in every plane.
        #expect(ImageResize.resizeCenterCrop(image, side: 1) == [50, 50, 50])
    }
}
