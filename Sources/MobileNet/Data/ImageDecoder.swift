/// An 8-bit RGB image: `height` rows top to bottom, each `width` pixels left to right, each
/// pixel the three bytes R, G, B (interleaved, as Pillow's `Image.tobytes()` of an "RGB" image).
public struct RGBImage: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// height × width × 3 bytes.
    public var pixels: [UInt8]

    /// - Precondition: width, height ≥ 1 and `pixels.count == height * width * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 1 && height >= 1, "expected a positive width and height, got \(width)×\(height)")
        precondition(pixels.count == width * height * 3, "expected \(width)×\(height)×3 = \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Decodes PNG and JPEG files to ``RGBImage``, as torchvision's default image loader
/// (`PIL.Image.open(path).convert("RGB")`) does, through the system's libpng (simplified API)
/// and libjpeg-turbo (TurboJPEG API).
///
/// The format is taken from the first bytes, never from the file name. What becomes of each
/// kind of file:
/// - PNG grey, grey + alpha, palette (with or without tRNS transparency), RGB and RGBA, at any
///   bit depth: grey is copied to R, G and B; alpha is dropped and the colour values kept, as
///   Pillow's `convert("RGB")` does (no compositing onto a background). 8-bit files give
///   Pillow's bytes exactly. 16-bit samples are treated as sRGB-encoded (libpng's
///   `PNG_IMAGE_FLAG_16BIT_sRGB`, without which libpng would take them as linear light) and
///   scaled to 8 bits with rounding, round(v · 255 / 65535). Pillow's own 16-bit colour
///   conversion differs from that by at most 1 either way (measured on the test fixture:
///   198 of 780 samples), and Pillow clips 16-bit grey (mode "I;16") at 255 instead of
///   scaling it, so on 16-bit grey files it differs in most pixels (up to 254).
///   A PNG whose gAMA chunk is far from 1/2.2 is re-encoded by libpng to gamma 1/2.2 (a file
///   saying gAMA 1.0 gets round(255 · (v/255)^(1/2.2))); Pillow ignores gAMA, so such rare
///   files differ from Pillow.
/// - JPEG YCbCr, RGB and greyscale: decoded with libjpeg-turbo's accurate integer IDCT and
///   smooth ("fancy") chroma upsampling, as Pillow decodes them: the same bytes as Pillow up
///   to differences between libjpeg-turbo versions (none measured, see ImageDecoderTests).
///   Grey is copied to R, G and B. CMYK and YCCK JPEGs are ``ImageError/unsupported(path:format:reason:)``.
///   A truncated JPEG is ``ImageError/corrupt(path:format:reason:)``, as in Pillow (libjpeg's
///   "Premature end of JPEG file", or any warning when no end-of-image marker follows the
///   last scan). Damaged scan data that libjpeg only warns about ("Corrupt JPEG data: …") in a
///   complete file still gives the image, as in Pillow, with Pillow's bytes (measured: 296 of
///   296 randomly damaged copies of a photo that both decode agree byte for byte).
///   Exif orientation is not applied (torchvision's loader does not apply it either).
///
/// Limits: images over `maximumPixels` (``defaultMaximumPixels``, 64 megapixels) are refused
/// from their header before their pixels are allocated; progressive JPEGs over 500 scans are
/// refused (libjpeg-turbo's `TJFLAG_LIMITSCANS`); libpng refuses PNGs over 1,000,000 pixels a side.
public enum ImageDecoder {
    /// 64 megapixels (64 × 2²⁰ = 67,108,864 pixels, e.g. 8192 × 8192): room for any camera
    /// photo, while an image at the limit needs at most 256 MiB while decoding (RGBA) and
    /// 192 MiB as RGB. Pillow warns from 89,478,485 pixels and refuses twice that.
    public static let defaultMaximumPixels = 64 << 20

    /// The largest file, in bytes, that ``decode(contentsOf:maximumPixels:)`` reads:
    /// 8 bytes a pixel (an uncompressed 16-bit RGBA PNG) plus 64 MiB of metadata.
    public static func maximumFileBytes(maximumPixels: Int) -> Int {
        let (pixelBytes, overflow) = maximumPixels.multipliedReportingOverflow(by: 8)
        let (total, overflowAgain) = pixelBytes.addingReportingOverflow(64 << 20)
        return overflow || overflowAgain ? Int.max : total
    }

    /// Reads and decodes the file at `path`.
    /// - Throws: ``ImageError`` naming `path`: unreadable, a folder, empty, too large, not a
    ///   PNG or JPEG, corrupt, too many pixels, unsupported.
    public static func decode(contentsOf path: String, maximumPixels: Int = defaultMaximumPixels) throws(ImageError) -> RGBImage {
        try decode(contentsOf: path, maximumPixels: maximumPixels, fileAccess: .system)
    }

    /// ``decode(contentsOf:maximumPixels:)`` through a file-system seam (tests inject read
    /// failures that root, for whom permission bits do not stop reads, cannot provoke).
    static func decode(contentsOf path: String, maximumPixels: Int, fileAccess access: CIFARFileAccess) throws(ImageError) -> RGBImage {
        switch access.entry(path) {
        case .missing:
            throw .unreadable(path: path, reason: "No such file or directory")
        case .directory:
            throw .isADirectory(path: path)
        case .file(let size):
            if size == 0 { throw .emptyFile(path: path) }
            let limit = maximumFileBytes(maximumPixels: maximumPixels)
            if size > limit { throw .fileTooLarge(path: path, size: size, limit: limit) }
        }
        let bytes: [UInt8]
        do {
            bytes = try access.readAll(path)
        } catch {
            throw .unreadable(path: path, reason: error.reason)
        }
        return try decode(bytes, path: path, maximumPixels: maximumPixels)
    }

    /// Decodes a PNG or JPEG file's bytes held in an array; `path` only names it in errors.
    /// - Throws: ``ImageError``: empty, not a PNG or JPEG, corrupt, too many pixels, unsupported.
    public static func decode(_ bytes: [UInt8], path: String, maximumPixels: Int = defaultMaximumPixels) throws(ImageError) -> RGBImage {
        // Array.withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ImageError) in try decode(buffer, path: path, maximumPixels: maximumPixels) }
        }
        return try result.get()
    }

    /// Decodes a PNG or JPEG held in memory; `path` only names it in errors.
    /// - Throws: ``ImageError``: empty, not a PNG or JPEG, corrupt, too many pixels, unsupported.
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String,
                              maximumPixels: Int = defaultMaximumPixels) throws(ImageError) -> RGBImage {
        if bytes.isEmpty { throw .emptyFile(path: path) }
        switch format(of: bytes) {
        case .png: return try PNGDecoding.decode(bytes, path: path, maximumPixels: maximumPixels)
        case .jpeg: return try JPEGDecoding.decode(bytes, path: path, maximumPixels: maximumPixels)
        case nil: throw .notPNGOrJPEG(path: path, detectedFormat: otherFormat(of: bytes))
        }
    }

    /// PNG or JPEG from the signature at the start of `bytes`, else nil.
    public static func format(of bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if starts(bytes, with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(bytes, with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        return nil
    }

    /// Refuses a header giving no pixels (a JPEG stream of tables only says 0×0) and
    /// width × height over `maximumPixels` (called from the header, before allocating).
    static func checkSize(width: Int, height: Int, format: ImageFormat, path: String, maximumPixels: Int) throws(ImageError) {
        if width < 1 || height < 1 {
            throw .corrupt(path: path, format: format, reason: "the header gives an empty image, \(width)×\(height) pixels")
        }
        if width > maximumPixels || height > maximumPixels || width * height > maximumPixels {
            throw .tooManyPixels(path: path, width: width, height: height, limit: maximumPixels)
        }
    }

    /// Names a few image formats users may hand over by mistake, from their signatures.
    static func otherFormat(of bytes: UnsafeRawBufferPointer) -> String? {
        let ascii = Array(bytes.prefix(12))
        func text(_ range: Range<Int>) -> String? {
            ascii.count >= range.upperBound ? String(decoding: ascii[range], as: UTF8.self) : nil
        }
        if text(0..<6) == "GIF87a" || text(0..<6) == "GIF89a" { return "GIF" }
        if text(0..<4) == "RIFF" && text(8..<12) == "WEBP" { return "WebP" }
        if text(0..<2) == "BM" { return "BMP" }
        if starts(bytes, with: [0x49, 0x49, 0x2A, 0x00]) || starts(bytes, with: [0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if text(4..<8) == "ftyp" { return "HEIF/AVIF" }
        return nil
    }

    private static func starts(_ bytes: UnsafeRawBufferPointer, with signature: [UInt8]) -> Bool {
        bytes.count >= signature.count && zip(bytes, signature).allSatisfy { $0 == $1 }
    }
}
