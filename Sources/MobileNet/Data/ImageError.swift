/// The two file formats ``ImageDecoder`` reads, told apart by their first bytes.
public enum ImageFormat: String, Sendable, Equatable {
    /// PNG: the file starts with the signature 89 50 4E 47 0D 0A 1A 0A.
    case png = "PNG"
    /// JPEG (JFIF, Exif or bare): the file starts with FF D8 FF (start of image, then a marker).
    case jpeg = "JPEG"
}

/// Why an image file could not be decoded. Every case names the file; its description says
/// what is wrong and what to do about it.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist or reading it failed (permissions, an I/O error).
    case unreadable(path: String, reason: String)
    /// A folder sits where an image file was expected.
    case isADirectory(path: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// The file has more bytes than any image within the pixel limit needs
    /// (``ImageDecoder/maximumFileBytes(maximumPixels:)``); nothing was read.
    case fileTooLarge(path: String, size: Int, limit: Int)
    /// The first bytes are neither PNG's nor JPEG's signature. `detectedFormat` names another
    /// image format when its signature was recognised (GIF, BMP, WebP, TIFF, HEIF/AVIF).
    case notPNGOrJPEG(path: String, detectedFormat: String?)
    /// The file starts as a PNG or JPEG but the library could not decode it (damaged or
    /// truncated data); `reason` is libpng's or libjpeg-turbo's message.
    case corrupt(path: String, format: ImageFormat, reason: String)
    /// width × height exceeds the pixel limit: refused from the header, before the pixels are
    /// allocated (a decompression bomb, or a photo that must be shrunk first).
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// A valid file of a kind the decoder does not convert to RGB (a CMYK or YCCK JPEG, a
    /// PNG wider or taller than libpng accepts).
    case unsupported(path: String, format: ImageFormat, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read image \(path): \(reason). Check that the file exists and that its permissions allow reading it."
        case .isADirectory(let path):
            return "\(path) is a folder, not an image file. Move it out of the image folder, or rename it so it does not end in .png, .jpg or .jpeg."
        case .emptyFile(let path):
            return "image \(path) is empty (0 bytes): the copy or download was interrupted. Copy the image again or remove it."
        case .fileTooLarge(let path, let size, let limit):
            return "image \(path) has \(size) bytes, more than the \(limit) bytes an image within the pixel limit can need. Shrink the image, or remove it if it is not an image."
        case .notPNGOrJPEG(let path, let detectedFormat):
            let what = detectedFormat.map { "a \($0) image" } ?? "neither a PNG nor a JPEG image (its first bytes match no image format)"
            return "\(path) is \(what); only PNG and JPEG files are read, whatever the file name says. Convert it to PNG or JPEG, or remove it."
        case .corrupt(let path, let format, let reason):
            return "\(format.rawValue) image \(path) is damaged or truncated (\(Self.library(format)): \(reason)). Copy or export the image again, or remove it."
        case .tooManyPixels(let path, let width, let height, let limit):
            return "image \(path) is \(width)×\(height) = \(width * height) pixels, more than the limit of \(limit) pixels (a file claiming that size may be a decompression bomb). Shrink it to at most \(limit) pixels (\(Self.side(within: limit))×\(Self.side(within: limit)), say) first, or remove it."
        case .unsupported(let path, let format, let reason):
            return "\(format.rawValue) image \(path) cannot be converted to RGB: \(reason). Convert it to an 8-bit RGB PNG or JPEG, or remove it."
        }
    }

    /// The largest side s with s² ≤ `pixels` (integer square root), for a square within the limit.
    private static func side(within pixels: Int) -> Int {
        var side = Int(Double(max(pixels, 0)).squareRoot())
        while side * side > pixels { side -= 1 }
        while (side + 1) * (side + 1) <= pixels { side += 1 }
        return side
    }

    private static func library(_ format: ImageFormat) -> String {
        format == .png ? "libpng" : "libjpeg-turbo"
    }
}
