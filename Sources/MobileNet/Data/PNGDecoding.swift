import CPNG

/// PNG through libpng's simplified API (`png_image_begin_read_from_memory`,
/// `png_image_finish_read`); the rules are in ``ImageDecoder``.
enum PNGDecoding {
    /// Decodes `bytes`, which start with the PNG signature.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixels: Int) throws(ImageError) -> RGBImage {
        // The size from IHDR (the first chunk: length 13, "IHDR", width, height, big-endian)
        // is checked before libpng allocates anything for the image.
        if bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) {
            let width = bigEndian32(bytes, at: 16)
            let height = bigEndian32(bytes, at: 20)
            try ImageDecoder.checkSize(width: width, height: height, format: .png, path: path, maximumPixels: maximumPixels)
            if width > Int(cpng_user_width_max) || height > Int(cpng_user_height_max) {
                throw .unsupported(path: path, format: .png, reason: "it is \(width)×\(height) pixels; libpng reads at most \(cpng_user_width_max) pixels a side")
            }
        }
        var image = png_image()
        image.version = cpng_image_version
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            throw .corrupt(path: path, format: .png, reason: message(image))
        }
        let width = Int(image.width)
        let height = Int(image.height)
        try ImageDecoder.checkSize(width: width, height: height, format: .png, path: path, maximumPixels: maximumPixels)
        // 16-bit samples are sRGB-encoded like 8-bit ones (as every other reader takes them),
        // not linear light, unless the file's gAMA/sRGB chunks say otherwise.
        image.flags |= cpng_image_flag_16bit_srgb
        // With alpha, ask for RGBA and drop A below: asking for RGB would make libpng
        // composite onto the buffer's contents, where Pillow's convert("RGB") keeps the colour.
        let hasAlpha = image.format & cpng_format_flag_alpha != 0
        image.format = hasAlpha ? cpng_format_rgba : cpng_format_rgb
        let channels = hasAlpha ? 4 : 3
        var decoded = [UInt8](repeating: 0, count: width * height * channels)
        let finished = decoded.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil)
        }
        guard finished != 0 else { throw .corrupt(path: path, format: .png, reason: message(image)) }
        guard hasAlpha else { return RGBImage(width: width, height: height, pixels: decoded) }
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { rgb, count in
            decoded.withUnsafeBufferPointer { rgba in
                for pixel in 0..<(width * height) {
                    rgb[3 * pixel] = rgba[4 * pixel]
                    rgb[3 * pixel + 1] = rgba[4 * pixel + 1]
                    rgb[3 * pixel + 2] = rgba[4 * pixel + 2]
                }
            }
            count = width * height * 3
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private static func bigEndian32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }

    /// libpng's message (a NUL-terminated string in a 64-byte field).
    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "unknown libpng error" : text
        }
    }
}
