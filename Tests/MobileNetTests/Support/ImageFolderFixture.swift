import CPNG
import CTurboJPEG
import Foundation
@testable import MobileNet

/// Image folders written by the tests: PNGs through libpng's simplified write API, JPEGs
/// through TurboJPEG, from pixels the tests generate.
enum ImageFolderFixture {
    /// A width × height RGB image (interleaved) of pseudo-random bytes.
    static func pixels(width: Int, height: Int, seed: UInt64) -> [UInt8] {
        var rng = TestRNG(seed: seed)
        return (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Writes `rgb` (height × width × 3, interleaved) as an 8-bit RGB PNG at `path`.
    static func writePNG(_ rgb: [UInt8], width: Int, height: Int, to path: String) {
        var image = png_image()
        image.version = cpng_image_version
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = cpng_format_rgb
        let written = rgb.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
        png_image_free(&image)
        precondition(written != 0, "test fixture: cannot write \(path)")
    }

    /// Writes `rgb` as a baseline JPEG (quality 90, 4:2:0) at `path`.
    static func writeJPEG(_ rgb: [UInt8], width: Int, height: Int, to path: String) {
        let handle = tjInitCompress()
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = rgb.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &output, &size,
                        Int32(TJSAMP_420.rawValue), 90, 0)
        }
        precondition(status == 0, "test fixture: cannot encode \(path)")
        defer { tjFree(output) }
        CIFARFixture.write(Array(UnsafeBufferPointer(start: output, count: Int(size))), to: path)
    }

    /// One image file to write: its path under the root, size and pixel seed.
    struct File {
        var path: String
        var width = 8
        var height = 8
        var seed: UInt64 = 1
        var jpeg = false
    }

    /// Writes `files` under `root` (creating folders), returning each file's pixels.
    @discardableResult
    static func write(_ files: [File], under root: String) -> [String: [UInt8]] {
        var written: [String: [UInt8]] = [:]
        for file in files {
            let path = root + "/" + file.path
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let rgb = pixels(width: file.width, height: file.height, seed: file.seed)
            if file.jpeg { writeJPEG(rgb, width: file.width, height: file.height, to: path) } else { writePNG(rgb, width: file.width, height: file.height, to: path) }
            written[file.path] = rgb
        }
        return written
    }

    /// A folder `classes` × `perClass` PNGs of side `side`, named `<class>/<k>.png`, with
    /// distinct seeds; under `root/<split>` when `split` is given.
    static func tree(_ root: String, split: String? = nil, classes: [String], perClass: Int, side: Int = 8, seed: UInt64 = 1) -> [String: [UInt8]] {
        let prefix = split.map { $0 + "/" } ?? ""
        var files: [File] = []
        for (c, name) in classes.enumerated() {
            for k in 0..<perClass {
                files.append(File(path: "\(prefix)\(name)/\(k).png", width: side, height: side, seed: seed + UInt64(100 * c + k)))
            }
        }
        return write(files, under: root)
    }

    /// Interleaved RGB (H × W × 3) to planes R, G, B (3 × H × W), the loaded layout.
    static func planar(_ rgb: [UInt8], width: Int, height: Int) -> [UInt8] {
        (0..<3).flatMap { c in (0..<(width * height)).map { rgb[$0 * 3 + c] } }
    }
}
