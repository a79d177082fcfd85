import MobileNet

/// The fuzz target for ``ImageDecoder`` and ``ImageResize``: the input is a whole image file.
/// The `png` and `jpeg` targets run this same function and differ only in their seed corpora
/// (`make fuzz` copies the PNG or the JPEG files of Tests/MobileNetTests/Fixtures/images).
///
/// Decoding either throws ``ImageError`` or gives an image within ``maximumPixels``, which
/// then goes through `resizeCenterCrop` at side 32 (the loader's path), without trapping.
public enum ImageFuzzInput {
    /// The path used in messages.
    public static let path = "fuzz.image"
    /// 2²⁰ pixels: large enough for every code path, small enough that a header claiming the
    /// limit (which is allocated, then filled or refused) keeps each run short.
    public static let maximumPixels = 1 << 20

    /// Returns "decoded W×H" or the error's case name (see ``FuzzOutcome``).
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> String {
        let image: RGBImage
        do {
            image = try ImageDecoder.decode(bytes, path: path, maximumPixels: maximumPixels)
        } catch {
            return FuzzOutcome.caseName(error)
        }
        precondition(image.width * image.height <= maximumPixels)
        precondition(image.pixels.count == image.width * image.height * 3)
        let planar = ImageResize.resizeCenterCrop(image, side: 32)
        precondition(planar.count == 3 * 32 * 32)
        return "decoded \(image.width)×\(image.height)"
    }
}
