import Foundation
import Testing
@testable import MobileNet

/// ``ImageDecoder`` against Pillow's `Image.open(path).convert("RGB")` (torchvision's default
/// loader) on the files `scripts/make_resize_fixtures.py` wrote into Fixtures/images/decode.
///
/// Tolerance: 0. Every 8-bit PNG (RGB, RGBA, grey, grey + alpha, palette with and without
/// tRNS, 1-bit, Adam7-interlaced) and every JPEG (4:2:0, 4:4:4, progressive, grey, odd sizes,
/// stray bytes before the end marker, damaged scan data that libjpeg only warns about)
/// decodes to Pillow's bytes exactly (libjpeg-turbo 2.1.5 here against the one in Pillow's
/// wheel). 16-bit PNGs decode to round(v · 255 / 65535), computed by numpy, exactly; Pillow
/// differs there by design (see ``sixteenBitPNGsAreScaledWithRoundingNotTruncated``).
@Suite struct ImageDecoderTests {
    struct DecodeFixture {
        let name: String
        let width: Int
        let height: Int
        let pillowMD5: String
        let rule: String
    }

    static func folder(_ sub: String) -> String { Fixtures.url("images/" + sub).path }

    /// The tab-separated fields of each line of a manifest in Fixtures/images.
    static func manifest(_ name: String) -> [[String]] {
        let text = try! String(contentsOfFile: folder(name), encoding: .utf8)
        return text.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
    }

    static let decodeFixtures = manifest("decode.tsv").map { f in
        DecodeFixture(name: f[0], width: Int(f[1])!, height: Int(f[2])!, pillowMD5: f[3], rule: f[4])
    }

    static func bytes(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// The largest |a − b| over two equally long byte arrays.
    static func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
        zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test func pillowMadePNGAndJPEGDecodeToPillowsBytes() throws {
        let exact = Self.decodeFixtures.filter { $0.rule == "exact" }
        #expect(exact.count == 20)
        for fixture in exact {
            let path = Self.folder("decode/" + fixture.name)
            let image = try ImageDecoder.decode(contentsOf: path)
            #expect(image.width == fixture.width && image.height == fixture.height, "\(fixture.name)")
            #expect(image.pixels.count == fixture.width * fixture.height * 3)
            #expect(MD5.hexDigest(of: image.pixels) == fixture.pillowMD5, "\(fixture.name)")
            if let pillow = Self.bytes(path + ".rgb") {
                #expect(image.pixels == pillow, "\(fixture.name): max |Δ| \(Self.maxDifference(image.pixels, pillow))")
            }
        }
    }

    /// 16-bit samples v become round(v · 255 / 65535) (libpng's scaling of sRGB-encoded
    /// samples), exactly. Pillow's own conversion of 16-bit colour is within 1 of that (it
    /// reaches 1 on these fixtures); 16-bit grey it clips at 255 (mode "I;16" → "RGB"), so
    /// there Pillow is not a reference.
    @Test func sixteenBitPNGsAreScaledWithRoundingNotTruncated() throws {
        let deep = Self.decodeFixtures.filter { $0.rule == "scaled" }
        #expect(deep.map(\.name) == ["rgb16-20x13.png", "rgba16-20x13.png", "grey16-20x13.png"])
        for fixture in deep {
            let path = Self.folder("decode/" + fixture.name)
            let image = try ImageDecoder.decode(contentsOf: path)
            let scaled = try #require(Self.bytes(path + ".scaled.rgb"))
            #expect(image.pixels == scaled, "\(fixture.name): max |Δ| \(Self.maxDifference(image.pixels, scaled))")
            // Pillow's 16-bit colour conversion is within 1 of the rounding (grey it clips at 255).
            if !fixture.name.hasPrefix("grey") {
                let pillow = try #require(Self.bytes(path + ".rgb"))
                #expect(Self.maxDifference(image.pixels, pillow) == 1, "\(fixture.name)")
            }
        }
    }

    /// A PNG whose gAMA chunk says 1.0 (linear samples) is re-encoded by libpng with gamma
    /// 1/2.2 (its 8-bit stand-in for sRGB; not the exact sRGB curve, which differs by up to 8
    /// near black), where Pillow ignores gAMA: ours equals round(255 · (v/255)^(1/2.2)) exactly.
    @Test func linearGammaPNGIsEncodedToSRGB() throws {
        let fixture = try #require(Self.decodeFixtures.first { $0.rule == "gamma" })
        let path = Self.folder("decode/" + fixture.name)
        let image = try ImageDecoder.decode(contentsOf: path)
        let gamma = try #require(Self.bytes(path + ".gamma.rgb"))
        #expect(image.pixels == gamma, "max |Δ| \(Self.maxDifference(image.pixels, gamma))")
        let pillow = try #require(Self.bytes(path + ".rgb"))
        #expect(Self.maxDifference(image.pixels, pillow) > 50)
    }

    @Test func pngAndJPEGMadeByPillowRoundTrip() throws {
        // rgb-32x32 is the synthetic pattern saved losslessly: the PNG gives it back exactly.
        let png = try ImageDecoder.decode(contentsOf: Self.folder("decode/rgb-32x32.png"))
        #expect(png.pixels == ImageDecoderTests.pattern(width: 32, height: 32))
        // The same pattern saved as JPEG quality 90: Pillow's decoded bytes exactly, and near the original.
        let jpeg = try ImageDecoder.decode(contentsOf: Self.folder("decode/rgb-32x32.jpg"))
        #expect(jpeg.pixels == Self.bytes(Self.folder("decode/rgb-32x32.jpg.rgb")))
        #expect(jpeg.width == 32 && jpeg.height == 32)
    }

    /// The synthetic image of make_resize_fixtures.py's `pattern`, height × width × 3.
    static func pattern(width: Int, height: Int) -> [UInt8] {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let noise = (((x * 7919 + y * 104729 + c * 15485863) * 2654435761) >> 16) % 64
                    pixels.append(UInt8((x * 13 + y * 7 + c * 50 + noise) % 256))
                }
            }
        }
        return pixels
    }
}
