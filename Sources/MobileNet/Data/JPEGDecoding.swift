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
            if tjGetErrorCode(handle) != TJERR_WARNING.rawValue || message.hasPrefix(truncationWarning) {
                throw .corrupt(path: path, format: .jpeg, reason: message)
            }
            // A warning (libjpeg reports only the first) still gives the whole image, as in
            // Pillow, unless the data also ends early: damaged and truncated, which Pillow refuses.
            if !endsItsLastScan(bytes) {
                throw .corrupt(path: path, format: .jpeg, reason: "\(message), and the data ends before the end-of-image marker")
            }
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    /// True when an end-of-image marker (FF D9) follows the last start-of-scan marker (FF DA).
    /// Inside scan data every FF byte is followed by 00 or a restart marker, so the first
    /// FF D9 after the last FF DA is the image's end.
    static func endsItsLastScan(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        var index = bytes.count - 2
        while index >= 0, !(bytes[index] == 0xFF && bytes[index + 1] == 0xDA) { index -= 1 }
        guard index >= 0 else { return false }
        var marker = index + 2
        while marker + 1 < bytes.count {
            if bytes[marker] == 0xFF && bytes[marker + 1] == 0xD9 { return true }
            marker += 1
        }
        return false
    }
}
