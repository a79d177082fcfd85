import CTurboJPEG

/// JPEG through libjpeg-turbo's TurboJPEG API (`tjDecompressHeader3`, `tjDecompress2`); the
/// rules are in ``ImageDecoder``.
enum JPEGDecoding {
    /// The first warning libjpeg gives when the data ends before the image does
    /// (JWRN_JPEG_EOF): a truncated file, refused as Pillow refuses it.
    static let truncationWarning = "Premature end of JPEG file"

    /// Decodes `bytes`, which start with FF D8 FF.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixels: Int) throws(ImageError) -> RGBImage {
        guard let handle = tjInitDecompress() else {
            throw .corrupt(path: path, format: .jpeg, reason: "cannot start the decoder: \(String(cString: tjGetErrorStr2(nil)))")
        }
        defer { tjDestroy(handle) }
        let source = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let size = UInt(bytes.count)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, source, size, &width, &height, &subsampling, &colorspace) == 0 else {
            throw .corrupt(path: path, format: .jpeg, reason: String(cString: tjGetErrorStr2(handle)))
        }
        if colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue) {
            let kind = colorspace == Int32(TJCS_CMYK.rawValue) ? "CMYK" : "YCCK (Adobe CMYK)"
            throw .unsupported(path: path, format: .jpeg, reason: "it is a \(kind) JPEG, which libjpeg-turbo does not convert to RGB")
        }
        try ImageDecoder.checkSize(width: Int(width), height: Int(height), format: .jpeg, path: path, maximumPixels: maximumPixels)
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = pixels.withUnsafeMutableBufferPointer { output in
            tjDecompress2(handle, source, size, output.baseAddress, width, 0, height, TJPF_RGB.rawValue,
                          TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS)
        }
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(handle))
            // A warning still gives the whole image; only truncation is refused.
            if tjGetErrorCode(handle) != TJERR_WARNING.rawValue || message.hasPrefix(truncationWarning) {
                throw .corrupt(path: path, format: .jpeg, reason: message)
            }
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }
}
